from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, Table, Text

from tessera.models.base import Micros, metadata

events = Table(
    "events",
    metadata,
    Column("id", Text, primary_key=True),
    Column("organization_id", Text, ForeignKey("organizations.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=True),
    Column("status", Text, nullable=False),
    Column("registration_status", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("capacity", Integer, nullable=False),  # 0 = unlimited
    # Seats held by valid and checked_in tickets; kept in the same transaction as every change
    # to a ticket, and the row that serializes capacity checks.
    Column("tickets_sold", Integer, nullable=False),
    Column("start_at", Micros, nullable=False),
    Column("start_timezone", Text, nullable=False),
    Column("end_at", Micros, nullable=True),
    Column("end_timezone", Text, nullable=True),
    Column("venue_name", Text, nullable=True),
    Column("venue_address", Text, nullable=True),
    Column("venue_city", Text, nullable=True),
    Column("venue_state", Text, nullable=True),
    Column("venue_country", Text, nullable=True),
    Column("virtual_url", Text, nullable=True),
    Column("hidden", Boolean, nullable=False),
    Column("require_approval", Boolean, nullable=False),
    Column("created_at", Micros, nullable=False),
    Column("updated_at", Micros, nullable=False),
)
Index(
    "ix_events_org_status_created", events.c.organization_id, events.c.status, events.c.created_at
)
