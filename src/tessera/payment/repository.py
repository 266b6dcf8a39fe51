"""SQL for payments, always filtered by organization."""

from __future__ import annotations

from typing import Any

from tessera.db import Connection

COLUMNS = (
    "id, event_id, ticket_class_id, contact_id, status, method, provider, currency, amount,"
    " quantity, created_at, updated_at"
)


async def insert(conn: Connection, organization_id: str, values: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO payments (organization_id, id, event_id, ticket_class_id, contact_id, status,"
        " method, provider, currency, amount, quantity, created_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
        organization_id, values["id"], values["event_id"], values["ticket_class_id"],
        values["contact_id"], values["status"], values["method"], values["provider"],
        values["currency"], values["amount"], values["quantity"], values["created_at"],
    )
