"""SQL for what an email needs beyond the ticket page: its recipient, and a ticket's payment."""

from __future__ import annotations

from tessera.db import Connection, Row


async def recipient(conn: Connection, organization_id: str, contact_id: str) -> Row | None:
    """The contact (current address and names, ``erased_at``) with its organization's name."""
    return await conn.fetchrow(
        "SELECT c.email, c.first_name, c.last_name, c.erased_at, o.name AS organization_name"
        " FROM contacts c JOIN organizations o ON o.id = c.organization_id"
        " WHERE c.organization_id = $1 AND c.id = $2",
        organization_id,
        contact_id,
    )


async def ticket_owner(
    conn: Connection, organization_id: str, event_id: str, ticket_id: str
) -> Row | None:
    """The payment (whose page shows the ticket) and the contact of one ticket."""
    return await conn.fetchrow(
        "SELECT payment_id, contact_id FROM tickets"
        " WHERE organization_id = $1 AND event_id = $2 AND id = $3",
        organization_id,
        event_id,
        ticket_id,
    )
