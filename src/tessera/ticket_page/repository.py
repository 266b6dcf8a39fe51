"""SQL for the ticket page: a payment, its event, and its tickets with holder and class names.

The page is public: the payment ID in its URL is the secret (at least 128 random bits), so the
payment is looked up by its ID alone. Everything after that is filtered by the payment's own
organization.
"""

from __future__ import annotations

from tessera.db import Connection, Row


async def payment_with_event(conn: Connection, payment_id: str) -> Row | None:
    """The payment with its event; None when no payment has this ID."""
    return await conn.fetchrow(
        "SELECT p.id AS payment_id, p.organization_id, p.contact_id,"
        " e.id AS event_id, e.name AS event_name, e.start_at, e.start_timezone, e.end_at,"
        " e.end_timezone, e.venue_name, e.venue_address, e.venue_city, e.venue_state,"
        " e.venue_country, e.virtual_url"
        " FROM payments p JOIN events e"
        " ON e.organization_id = p.organization_id AND e.id = p.event_id"
        " WHERE p.id = $1",
        payment_id,
    )


async def tickets_of_payment(conn: Connection, organization_id: str, payment_id: str) -> list[Row]:
    """The payment's tickets in the order they were issued, with holder and class names."""
    return await conn.fetch(
        "SELECT t.id, t.status, t.barcode, t.checked_in_at,"
        " tc.name AS ticket_class_name, c.first_name, c.last_name"
        " FROM tickets t"
        " JOIN ticket_classes tc ON tc.id = t.ticket_class_id"
        " JOIN contacts c ON c.id = t.contact_id"
        " WHERE t.organization_id = $1 AND t.payment_id = $2"
        " ORDER BY t.created_at, t.id",
        organization_id,
        payment_id,
    )
