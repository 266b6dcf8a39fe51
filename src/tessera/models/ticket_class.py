from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, Table, Text, text

from tessera.models.base import Micros, metadata

ticket_classes = Table(
    "ticket_classes",
    metadata,
    Column("id", Text, primary_key=True),
    Column("organization_id", Text, ForeignKey("organizations.id"), nullable=False),
    Column("event_id", Text, ForeignKey("events.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=True),
    Column("status", Text, nullable=False),  # active | deleted
    Column("currency", Text, nullable=False),
    Column("cost", Text, nullable=False),  # decimal string
    Column("quantity_total", Integer, nullable=False),  # 0 = unlimited
    Column("quantity_sold", Integer, nullable=False),  # seats held, like events.tickets_sold
    Column("sales_start", Micros, nullable=True),
    Column("sales_end", Micros, nullable=True),
    Column("minimum_per_order", Integer, nullable=False),
    Column("maximum_per_order", Integer, nullable=False),
    Column("require_approval", Boolean, nullable=False),
    Column("hide_on_event_page", Boolean, nullable=False),
    Column("created_at", Micros, nullable=False),
    Column("updated_at", Micros, nullable=False),
)
Index("ix_ticket_classes_event_id", ticket_classes.c.event_id, ticket_classes.c.created_at)
# Names are unique among an event's active classes; deleted ones free their name.
Index(
    "uq_ticket_classes_active_name",
    ticket_classes.c.event_id,
    ticket_classes.c.name,
    unique=True,
    sqlite_where=text("status = 'active'"),
    postgresql_where=text("status = 'active'"),
)
