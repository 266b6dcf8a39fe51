"""Many attendees at once, straight through the data layer (the API would take minutes)."""

from __future__ import annotations

import json
from typing import Any

from tessera.db import Connection
from tessera.kit import ids
from tests.support import Tenant


async def insert_attendees(
    conn: Connection,
    organization_id: str,
    event_id: str,
    class_id: str,
    count: int,
    start: int,
    answers: dict[str, Any] | None = None,
) -> None:
    """``count`` valid tickets, one contact and one payment each, created a microsecond apart,
    with the counters kept true."""
    payment_id = ids.payment_id()
    contacts, tickets = [], []
    text = json.dumps(answers) if answers else None
    for n in range(count):
        contact_id = ids.contact_id()
        contacts.append(
            (contact_id, organization_id, f"guest{n}@example.com", f"Guest{n}", "Doe", start + n)
        )
        tickets.append(
            (
                ids.ticket_id(),
                organization_id,
                event_id,
                class_id,
                contact_id,
                payment_id,
                ids.barcode(),
                start + n,
                text,
            )
        )
    await conn.executemany(
        "INSERT INTO contacts (id, organization_id, email, first_name, last_name, phone,"
        " erased_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, '+1 555 0100', NULL,"
        " $6, $6)",
        contacts,
    )
    await conn.execute(
        "INSERT INTO payments (id, organization_id, event_id, ticket_class_id, contact_id, status,"
        " method, provider, currency, amount, quantity, created_at, updated_at) VALUES"
        " ($1, $2, $3, $4, $5, 'succeeded', 'cash', 'manual', 'usd', '0.00', $6, $7, $7)",
        payment_id,
        organization_id,
        event_id,
        class_id,
        contacts[0][0],
        count,
        start,
    )
    await conn.executemany(
        "INSERT INTO tickets (id, organization_id, event_id, ticket_class_id, contact_id,"
        " payment_id, status, barcode, payment_method, checked_in_at, created_at, updated_at,"
        " answers) VALUES ($1, $2, $3, $4, $5, $6, 'valid', $7, 'cash', NULL, $8, $8, $9)",
        tickets,
    )
    await conn.execute(
        "UPDATE ticket_classes SET quantity_sold = quantity_sold + $2 WHERE id = $1",
        class_id,
        count,
    )
    await conn.execute(
        "UPDATE events SET tickets_sold = tickets_sold + $2 WHERE id = $1", event_id, count
    )


def bulk_attendees(
    tenant: Tenant,
    event_id: str,
    class_id: str,
    count: int,
    answers: dict[str, Any] | None = None,
) -> None:
    start = tenant.api.now()
    tenant.api.run(
        lambda conn: insert_attendees(
            conn, tenant.organization_id, event_id, class_id, count, start, answers
        )
    )
