"""SQL for webhook endpoints and their delivery log. Every query starts from the organization:
another organization's endpoint is simply not found."""

from __future__ import annotations

from typing import Any

from tessera.db import Connection, Row

COLUMNS = (
    "id, organization_id, url, events, enabled, description, secret, previous_secret,"
    " previous_secret_expires_at, created_at, updated_at"
)
DELIVERY_COLUMNS = (
    "id, endpoint_id, outbox_id, webhook_id, event_type, attempt, status, response_status,"
    " duration_ms, error, next_attempt_at, created_at"
)


async def insert(conn: Connection, organization_id: str, values: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO webhook_endpoints (organization_id, id, url, events, enabled, description,"
        " secret, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        organization_id,
        values["id"],
        values["url"],
        values["events"],
        values["enabled"],
        values["description"],
        values["secret"],
        values["created_at"],
    )


async def get(conn: Connection, organization_id: str, endpoint_id: str) -> Row | None:
    return await conn.fetchrow(
        f"SELECT {COLUMNS} FROM webhook_endpoints WHERE organization_id = $1 AND id = $2",
        organization_id,
        endpoint_id,
    )


async def list_page(
    conn: Connection, organization_id: str, limit: int, offset: int
) -> tuple[list[Row], int]:
    total = await conn.fetchval(
        "SELECT count(*) FROM webhook_endpoints WHERE organization_id = $1", organization_id
    )
    rows = await conn.fetch(
        f"SELECT {COLUMNS} FROM webhook_endpoints WHERE organization_id = $1"
        " ORDER BY created_at DESC, id LIMIT $2 OFFSET $3",
        organization_id,
        limit,
        offset,
    )
    return rows, int(total)


UPDATABLE = frozenset(
    {
        "url",
        "events",
        "enabled",
        "description",
        "secret",
        "previous_secret",
        "previous_secret_expires_at",
        "updated_at",
    }
)


async def update(
    conn: Connection, organization_id: str, endpoint_id: str, values: dict[str, Any]
) -> bool:
    columns = [column for column in values if column in UPDATABLE]
    sets = ", ".join(f"{column} = ${i + 3}" for i, column in enumerate(columns))
    changed = await conn.execute(
        f"UPDATE webhook_endpoints SET {sets} WHERE organization_id = $1 AND id = $2",
        organization_id,
        endpoint_id,
        *(values[column] for column in columns),
    )
    return changed == 1


async def delete(conn: Connection, organization_id: str, endpoint_id: str) -> bool:
    """Delete the endpoint and its delivery log. Its queued messages fail when they come up."""
    await conn.execute(
        "DELETE FROM webhook_deliveries WHERE organization_id = $1 AND endpoint_id = $2",
        organization_id,
        endpoint_id,
    )
    changed = await conn.execute(
        "DELETE FROM webhook_endpoints WHERE organization_id = $1 AND id = $2",
        organization_id,
        endpoint_id,
    )
    return changed == 1


async def disable(conn: Connection, organization_id: str, endpoint_id: str, now: int) -> None:
    await conn.execute(
        "UPDATE webhook_endpoints SET enabled = FALSE, updated_at = $3"
        " WHERE organization_id = $1 AND id = $2",
        organization_id,
        endpoint_id,
        now,
    )


# Delivery attempts ---------------------------------------------------------------------------


async def insert_delivery(conn: Connection, organization_id: str, values: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO webhook_deliveries (organization_id, id, endpoint_id, outbox_id, webhook_id,"
        " event_type, attempt, status, response_status, duration_ms, error, next_attempt_at,"
        " created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        organization_id,
        values["id"],
        values["endpoint_id"],
        values["outbox_id"],
        values["webhook_id"],
        values["event_type"],
        values["attempt"],
        values["status"],
        values["response_status"],
        values["duration_ms"],
        values["error"],
        values["next_attempt_at"],
        values["created_at"],
    )


async def get_delivery(
    conn: Connection, organization_id: str, endpoint_id: str, delivery_id: str
) -> Row | None:
    return await conn.fetchrow(
        f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries"
        " WHERE organization_id = $1 AND endpoint_id = $2 AND id = $3",
        organization_id,
        endpoint_id,
        delivery_id,
    )


async def list_deliveries(
    conn: Connection, organization_id: str, endpoint_id: str, limit: int, offset: int
) -> tuple[list[Row], int]:
    where = "organization_id = $1 AND endpoint_id = $2"
    total = await conn.fetchval(
        f"SELECT count(*) FROM webhook_deliveries WHERE {where}", organization_id, endpoint_id
    )
    rows = await conn.fetch(
        f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE {where}"
        " ORDER BY created_at DESC, outbox_id DESC, attempt DESC, id LIMIT $3 OFFSET $4",
        organization_id,
        endpoint_id,
        limit,
        offset,
    )
    return rows, int(total)
