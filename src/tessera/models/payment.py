from sqlalchemy import Column, ForeignKey, Index, Integer, Table, Text

from tessera.models.base import Micros, metadata

payments = Table(
    "payments",
    metadata,
    Column("id", Text, primary_key=True),
    # As on tickets: only the contact is a foreign key (see models/ticket.py).
    Column("organization_id", Text, nullable=False),
    Column("event_id", Text, nullable=False),
    Column("ticket_class_id", Text, nullable=False),
    Column("contact_id", Text, ForeignKey("contacts.id"), nullable=False),
    Column("status", Text, nullable=False),
    Column("method", Text, nullable=False),
    Column("provider", Text, nullable=False),  # "manual" today; the seam for a card provider
    Column("currency", Text, nullable=False),
    Column("amount", Text, nullable=False),  # decimal string
    Column("quantity", Integer, nullable=False),
    Column("created_at", Micros, nullable=False),
    Column("updated_at", Micros, nullable=False),
)
Index(
    "ix_payments_org_status_created",
    payments.c.organization_id,
    payments.c.status,
    payments.c.created_at,
)
# Erasure checks whether any payment refers to a contact (and FK checks on its deletion).
Index("ix_payments_contact_id", payments.c.contact_id)
