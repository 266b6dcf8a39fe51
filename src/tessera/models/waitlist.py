from sqlalchemy import Column, ForeignKey, Index, Integer, Table, Text, UniqueConstraint

from tessera.models.base import Micros, metadata

# People waiting for a seat in a sold-out ticket class (SPEC §9). One entry per email and class;
# the line is ordered by (created_at, id). An offer is an invited ticket (attendee_id) that the
# person claims through the secret claim_token before offer_expires_at.
waitlist_entries = Table(
    "waitlist_entries",
    metadata,
    Column("id", Text, primary_key=True),
    Column("organization_id", Text, ForeignKey("organizations.id"), nullable=False),
    Column("event_id", Text, ForeignKey("events.id"), nullable=False),
    Column("ticket_class_id", Text, ForeignKey("ticket_classes.id"), nullable=False),
    Column("email", Text, nullable=False),  # lower-cased and trimmed, like contacts.email
    Column("first_name", Text, nullable=True),
    Column("last_name", Text, nullable=True),
    Column("status", Text, nullable=False),  # waiting | offered | claimed | expired | left
    Column("claim_token", Text, nullable=True, unique=True),
    Column("attendee_id", Text, nullable=True),
    Column("offered_at", Micros, nullable=True),
    Column("offer_expires_at", Micros, nullable=True),
    Column("created_at", Micros, nullable=False),
    Column("updated_at", Micros, nullable=False),
    UniqueConstraint("ticket_class_id", "email"),
)
# The line of a class, and the counts of waiting and offered entries per class and per event.
Index(
    "ix_waitlist_entries_class_status",
    waitlist_entries.c.ticket_class_id,
    waitlist_entries.c.status,
    waitlist_entries.c.created_at,
)
Index("ix_waitlist_entries_event_status", waitlist_entries.c.event_id, waitlist_entries.c.status)

# How long an event's waitlist offers stay open (hours); no row means the default, 48.
waitlist_settings = Table(
    "waitlist_settings",
    metadata,
    Column("event_id", Text, ForeignKey("events.id"), primary_key=True),
    Column("organization_id", Text, ForeignKey("organizations.id"), nullable=False),
    Column("offer_hours", Integer, nullable=False),
    Column("updated_at", Micros, nullable=False),
)

# Server-side secrets made on first use and shared by every server process through the database
# (the key that signs the public forms' CSRF tokens), so nothing needs configuring.
site_secrets = Table(
    "site_secrets",
    metadata,
    Column("name", Text, primary_key=True),
    Column("value", Text, nullable=False),
    Column("created_at", Micros, nullable=False),
)
