"""SQL for payments, always filtered by organization."""

from __future__ import annotations

from typing import Any

from tessera.db import Connection, Row

COLUMNS = (
    "id, event_id, ticket_class_id, contact_id, status, method, provider, currency, amount,"
    " quantity, created_at, updated_at"
)


async def insert(conn: Connection, organization_id: str, values: dict[str, Any]) -> None:
    """Deferred (see ``Connection.defer``): nothing reads the payment in the transaction that
    makes it."""
    await conn.defer(
        "INSERT INTO payments (organization_id, id, event_id, ticket_class_id, contact_id, status,"
        " method, provider, currency, amount, quantity, created_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
        organization_id,
        values["id"],
        values["event_id"],
        values["ticket_class_id"],
        values["contact_id"],
        values["status"],
        values["method"],
        values["provider"],
        values["currency"],
        values["amount"],
        values["quantity"],
        values["created_at"],
    )


# customer_email is the contact's current address (anonymized once the contact is erased).
_SELECT = (
    "SELECT p.id, p.event_id, p.ticket_class_id, p.contact_id, p.status, p.method, p.provider,"
    " p.currency, p.amount, p.quantity, p.created_at, p.updated_at, c.email AS customer_email"
    " FROM payments p JOIN contacts c"
    " ON c.organization_id = p.organization_id AND c.id = p.contact_id"
)


async def get(conn: Connection, organization_id: str, payment_id: str) -> Row | None:
    return await conn.fetchrow(
        f"{_SELECT} WHERE p.organization_id = $1 AND p.id = $2", organization_id, payment_id
    )


async def list_page(
    conn: Connection,
    organization_id: str,
    *,
    statuses: list[str],
    event_id: str | None,
    ticket_class_id: str | None,
    created_from: int | None,
    created_to: int | None,
    limit: int,
    offset: int,
) -> tuple[list[Row], int]:
    """Payments newest first; ``created_from`` inclusive, ``created_to`` exclusive."""
    args: list[Any] = [organization_id, *statuses]
    marks = ", ".join(f"${i + 2}" for i in range(len(statuses)))
    where = [f"p.organization_id = $1 AND p.status IN ({marks})"]
    for condition, value in (
        ("p.event_id = ", event_id),
        ("p.ticket_class_id = ", ticket_class_id),
        ("p.created_at >= ", created_from),
        ("p.created_at < ", created_to),
    ):
        if value is not None:
            args.append(value)
            where.append(f"{condition}${len(args)}")
    condition = " AND ".join(where)
    total = await conn.fetchval(f"SELECT count(*) FROM payments p WHERE {condition}", *args)
    n = len(args)
    rows = await conn.fetch(
        f"{_SELECT} WHERE {condition} ORDER BY p.created_at DESC, p.id"
        f" LIMIT ${n + 1} OFFSET ${n + 2}",
        *args,
        limit,
        offset,
    )
    return rows, int(total)


async def ticket_ids(
    conn: Connection, organization_id: str, payment_ids: list[str]
) -> dict[str, list[str]]:
    """The tickets of each payment, oldest first, in one query for a whole page."""
    found: dict[str, list[str]] = {payment_id: [] for payment_id in payment_ids}
    if not payment_ids:
        return found
    marks = ", ".join(f"${i + 2}" for i in range(len(payment_ids)))
    rows = await conn.fetch(
        f"SELECT payment_id, id FROM tickets WHERE organization_id = $1"
        f" AND payment_id IN ({marks}) ORDER BY created_at, id",
        organization_id,
        *payment_ids,
    )
    for row in rows:
        found[row["payment_id"]].append(row["id"])
    return found
