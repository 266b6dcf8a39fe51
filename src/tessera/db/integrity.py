"""The references the schema no longer enforces by foreign key, checked by query.

A ticket's organization, event, class and payment, a payment's organization, event and class,
and a contact's organization are not foreign keys (migration 0010_pgcpu; docs/performance.md):
the rows they refer to are never deleted, and the transaction that makes a ticket, payment or
contact reads or writes them itself. This is the check that the code keeps them, stricter than
the keys were: each reference must also agree with the organization and event of the row
(a ticket's class belongs to the ticket's event, its event to its organization). The tests run
it after every kind of create; an operator can run it too (it reads every ticket).
"""

from __future__ import annotations

from tessera.db import Connection

# name: the rows whose reference is broken (a count)
CHECKS = {
    "ticket_event": "SELECT count(*) FROM tickets t WHERE NOT EXISTS (SELECT 1 FROM events e"
    " WHERE e.id = t.event_id AND e.organization_id = t.organization_id)",
    "ticket_class": "SELECT count(*) FROM tickets t WHERE NOT EXISTS (SELECT 1"
    " FROM ticket_classes tc WHERE tc.id = t.ticket_class_id AND tc.event_id = t.event_id)",
    "ticket_payment": "SELECT count(*) FROM tickets t WHERE NOT EXISTS (SELECT 1 FROM payments p"
    " WHERE p.id = t.payment_id AND p.organization_id = t.organization_id"
    " AND p.event_id = t.event_id)",
    "payment_event": "SELECT count(*) FROM payments p WHERE NOT EXISTS (SELECT 1 FROM events e"
    " WHERE e.id = p.event_id AND e.organization_id = p.organization_id)",
    "payment_class": "SELECT count(*) FROM payments p WHERE NOT EXISTS (SELECT 1"
    " FROM ticket_classes tc WHERE tc.id = p.ticket_class_id AND tc.event_id = p.event_id)",
    "contact_organization": "SELECT count(*) FROM contacts c WHERE NOT EXISTS (SELECT 1"
    " FROM organizations o WHERE o.id = c.organization_id)",
}


async def broken_references(conn: Connection) -> dict[str, int]:
    """Each check that found rows, with how many; empty when every reference holds."""
    found = {}
    for name, sql in CHECKS.items():
        count = int(await conn.fetchval(sql))
        if count:
            found[name] = count
    return found
