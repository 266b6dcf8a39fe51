"""SQL for ticket classes, always filtered by organization and event."""

from __future__ import annotations

from typing import Any

from tessera.db import Connection, Row
from tessera.kit import ids

COLUMNS = (
    "id, event_id, name, description, status, currency, cost, quantity_total, quantity_sold,"
    " sales_start, sales_end, minimum_per_order, maximum_per_order, require_approval,"
    " hide_on_event_page, created_at, updated_at"
)


def new_values(
    *, event_id: str, name: str, currency: str, cost: str, now: int, **overrides: Any
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": ids.ticket_class_id(),
        "event_id": event_id,
        "name": name,
        "description": None,
        "status": "active",
        "currency": currency,
        "cost": cost,
        "quantity_total": 0,
        "quantity_sold": 0,
        "sales_start": None,
        "sales_end": None,
        "minimum_per_order": 1,
        "maximum_per_order": 10,
        "require_approval": False,
        "hide_on_event_page": False,
        "created_at": now,
        "updated_at": now,
    }
    values.update(overrides)
    return values


async def insert(conn: Connection, organization_id: str, values: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO ticket_classes (organization_id, id, event_id, name, description, status,"
        " currency, cost, quantity_total, quantity_sold, sales_start, sales_end,"
        " minimum_per_order, maximum_per_order, require_approval, hide_on_event_page,"
        " created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,"
        " $13, $14, $15, $16, $17, $18)",
        organization_id,
        values["id"],
        values["event_id"],
        values["name"],
        values["description"],
        values["status"],
        values["currency"],
        values["cost"],
        values["quantity_total"],
        values["quantity_sold"],
        values["sales_start"],
        values["sales_end"],
        values["minimum_per_order"],
        values["maximum_per_order"],
        values["require_approval"],
        values["hide_on_event_page"],
        values["created_at"],
        values["updated_at"],
    )


async def get(conn: Connection, organization_id: str, event_id: str, class_id: str) -> Row | None:
    return await conn.fetchrow(
        f"SELECT {COLUMNS} FROM ticket_classes"
        " WHERE organization_id = $1 AND event_id = $2 AND id = $3",
        organization_id,
        event_id,
        class_id,
    )


async def list_active(conn: Connection, organization_id: str, event_id: str) -> list[Row]:
    return await conn.fetch(
        f"SELECT {COLUMNS} FROM ticket_classes WHERE organization_id = $1 AND event_id = $2"
        " AND status = 'active' ORDER BY created_at, id",
        organization_id,
        event_id,
    )


async def name_taken(
    conn: Connection, organization_id: str, event_id: str, name: str, except_id: str = ""
) -> bool:
    row = await conn.fetchrow(
        "SELECT 1 FROM ticket_classes WHERE organization_id = $1 AND event_id = $2"
        " AND status = 'active' AND name = $3 AND id <> $4",
        organization_id,
        event_id,
        name,
        except_id,
    )
    return row is not None


UPDATABLE = frozenset(
    {
        "name",
        "description",
        "cost",
        "sales_start",
        "sales_end",
        "minimum_per_order",
        "maximum_per_order",
        "require_approval",
        "hide_on_event_page",
        "updated_at",
    }
)


async def update(
    conn: Connection, organization_id: str, class_id: str, values: dict[str, Any]
) -> None:
    columns = [column for column in values if column in UPDATABLE]
    sets = ", ".join(f"{column} = ${i + 3}" for i, column in enumerate(columns))
    await conn.execute(
        f"UPDATE ticket_classes SET {sets} WHERE organization_id = $1 AND id = $2",
        organization_id,
        class_id,
        *(values[column] for column in columns),
    )


async def set_quantity_total(
    conn: Connection, organization_id: str, class_id: str, quantity: int, now: int
) -> bool:
    """Change the quantity unless it would fall below the seats already sold (atomically)."""
    changed = await conn.execute(
        "UPDATE ticket_classes SET quantity_total = $3, updated_at = $4"
        " WHERE organization_id = $1 AND id = $2 AND ($3 = 0 OR quantity_sold <= $3)",
        organization_id,
        class_id,
        quantity,
        now,
    )
    return changed == 1


async def soft_delete(conn: Connection, organization_id: str, class_id: str, now: int) -> bool:
    """Delete unless a seat is held; the counter row makes the check atomic with sales."""
    changed = await conn.execute(
        "UPDATE ticket_classes SET status = 'deleted', updated_at = $3"
        " WHERE organization_id = $1 AND id = $2 AND status = 'active' AND quantity_sold = 0",
        organization_id,
        class_id,
        now,
    )
    return changed == 1


async def list_all(conn: Connection, organization_id: str, event_id: str) -> list[Row]:
    """Every class of the event, deleted ones included."""
    return await conn.fetch(
        f"SELECT {COLUMNS} FROM ticket_classes WHERE organization_id = $1 AND event_id = $2"
        " ORDER BY created_at, id",
        organization_id,
        event_id,
    )


async def set_currency(
    conn: Connection, organization_id: str, class_id: str, currency: str, cost: str, now: int
) -> None:
    await conn.execute(
        "UPDATE ticket_classes SET currency = $3, cost = $4, updated_at = $5"
        " WHERE organization_id = $1 AND id = $2",
        organization_id,
        class_id,
        currency,
        cost,
        now,
    )
