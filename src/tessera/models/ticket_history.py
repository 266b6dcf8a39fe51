from sqlalchemy import Column, ForeignKey, Index, Table, Text

from tessera.models.base import Micros, metadata

# Every change of a ticket's status after it was issued (approve, reject, check in, delete, an
# invited ticket upgraded). The status a ticket was issued with is the first change's
# from_status (or its current status when it never changed): the create path writes nothing here.
ticket_status_changes = Table(
    "ticket_status_changes",
    metadata,
    Column("id", Text, primary_key=True),
    Column("organization_id", Text, ForeignKey("organizations.id"), nullable=False),
    Column("ticket_id", Text, ForeignKey("tickets.id"), nullable=False),
    Column("from_status", Text, nullable=False),
    Column("to_status", Text, nullable=False),
    # Who changed it: a dashboard user's email at the time; NULL for the API (an integration).
    Column("actor", Text, nullable=True),
    Column("created_at", Micros, nullable=False),
)
Index(
    "ix_ticket_status_changes_ticket",
    ticket_status_changes.c.ticket_id,
    ticket_status_changes.c.created_at,
)
