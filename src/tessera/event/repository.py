"""SQL for events. Every query starts from the organization: another organization's event is
simply not found."""

from __future__ import annotations

from typing import Any

from tessera.db import Connection, Row

COLUMNS = (
    "id, name, description, status, registration_status, currency, capacity, tickets_sold,"
    " start_at, start_timezone, end_at, end_timezone, venue_name, venue_address, venue_city,"
    " venue_state, venue_country, virtual_url, hidden, require_approval, created_at, updated_at"
)


async def insert(conn: Connection, organization_id: str, values: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO events (organization_id, id, name, description, status, registration_status,"
        " currency, capacity, tickets_sold, start_at, start_timezone, end_at, end_timezone,"
        " venue_name, venue_address, venue_city, venue_state, venue_country, virtual_url, hidden,"
        " require_approval, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
        " $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)",
        organization_id,
        values["id"],
        values["name"],
        values["description"],
        values["status"],
        values["registration_status"],
        values["currency"],
        values["capacity"],
        values["tickets_sold"],
        values["start_at"],
        values["start_timezone"],
        values["end_at"],
        values["end_timezone"],
        values["venue_name"],
        values["venue_address"],
        values["venue_city"],
        values["venue_state"],
        values["venue_country"],
        values["virtual_url"],
        values["hidden"],
        values["require_approval"],
        values["created_at"],
        values["updated_at"],
    )


async def get(
    conn: Connection, organization_id: str, event_id: str, *, lock: bool = False
) -> Row | None:
    suffix = " FOR UPDATE" if lock and conn.dialect == "postgresql" else ""
    return await conn.fetchrow(
        f"SELECT {COLUMNS} FROM events WHERE organization_id = $1 AND id = $2{suffix}",
        organization_id,
        event_id,
    )


async def list_page(
    conn: Connection, organization_id: str, statuses: list[str], limit: int, offset: int
) -> tuple[list[Row], int]:
    marks = ", ".join(f"${i + 2}" for i in range(len(statuses)))
    where = f"organization_id = $1 AND status IN ({marks})"
    total = await conn.fetchval(
        f"SELECT count(*) FROM events WHERE {where}", organization_id, *statuses
    )
    n = len(statuses) + 2
    rows = await conn.fetch(
        f"SELECT {COLUMNS} FROM events WHERE {where} ORDER BY created_at DESC, id"
        f" LIMIT ${n} OFFSET ${n + 1}",
        organization_id,
        *statuses,
        limit,
        offset,
    )
    return rows, int(total)


UPDATABLE = frozenset(
    {
        "name",
        "description",
        "status",
        "registration_status",
        "currency",
        "start_at",
        "start_timezone",
        "end_at",
        "end_timezone",
        "venue_name",
        "venue_address",
        "venue_city",
        "venue_state",
        "venue_country",
        "virtual_url",
        "hidden",
        "require_approval",
        "updated_at",
    }
)


async def update(
    conn: Connection, organization_id: str, event_id: str, values: dict[str, Any]
) -> None:
    columns = [column for column in values if column in UPDATABLE]
    sets = ", ".join(f"{column} = ${i + 3}" for i, column in enumerate(columns))
    await conn.execute(
        f"UPDATE events SET {sets} WHERE organization_id = $1 AND id = $2",
        organization_id,
        event_id,
        *(values[column] for column in columns),
    )


async def set_capacity(
    conn: Connection, organization_id: str, event_id: str, capacity: int, now: int
) -> bool:
    """Change capacity unless it would fall below the seats already taken (checked atomically)."""
    changed = await conn.execute(
        "UPDATE events SET capacity = $3, updated_at = $4 WHERE organization_id = $1 AND id = $2"
        " AND ($3 = 0 OR tickets_sold <= $3)",
        organization_id,
        event_id,
        capacity,
        now,
    )
    return changed == 1
