from sqlalchemy import Column, ForeignKey, Index, Table, Text

from tessera.models.base import Micros, metadata

# A ticket is what the API calls an attendee.
tickets = Table(
    "tickets",
    metadata,
    Column("id", Text, primary_key=True),
    # Only the contact is a foreign key (a contact can be deleted; the key stops a delete that
    # races a create). The organization, event, class and payment are never deleted and are
    # read or written by the transaction that makes the ticket: tessera.db.integrity checks
    # them, and a key each cost every create a locking query (docs/performance.md).
    Column("organization_id", Text, nullable=False),
    Column("event_id", Text, nullable=False),
    Column("ticket_class_id", Text, nullable=False),
    Column("contact_id", Text, ForeignKey("contacts.id"), nullable=False),
    Column("payment_id", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("barcode", Text, nullable=False, unique=True),
    Column("payment_method", Text, nullable=False),
    Column("checked_in_at", Micros, nullable=True),
    Column("created_at", Micros, nullable=False),
    Column("updated_at", Micros, nullable=False),
    # The answers to the event's questions (SPEC §10) as a JSON object, NULL when none: on the
    # ticket row itself, so a create writes them in the insert it makes anyway.
    Column("answers", Text, nullable=True),
)
# Lists walk an event's tickets in creation order and stop after a page, status as a filter.
Index("ix_tickets_event_created", tickets.c.event_id, tickets.c.created_at, tickets.c.id)
# A contact's tickets: the invited upgrade (contact, event, status), erasure and FK checks.
Index("ix_tickets_contact_event", tickets.c.contact_id, tickets.c.event_id, tickets.c.status)
Index("ix_tickets_payment_id", tickets.c.payment_id)
Index("ix_tickets_event_updated", tickets.c.event_id, tickets.c.updated_at)
# Counts by status (checked in per event, for the dashboard and the door) from the index alone.
Index("ix_tickets_event_status", tickets.c.event_id, tickets.c.status)
