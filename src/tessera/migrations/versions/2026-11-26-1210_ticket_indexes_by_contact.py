"""ticket and payment indexes by contact

Every index is written on every Create Attendee, so each must earn its place: the unused
(ticket_class_id, status) index goes; the contact index leads with contact_id so that erasure
checks and foreign-key checks on contact deletion use it, not a scan.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 12:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_event_contact")
        batch_op.drop_index("ix_tickets_ticket_class_status")
        batch_op.create_index(
            "ix_tickets_contact_event", ["contact_id", "event_id", "status"], unique=False
        )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index("ix_payments_contact_id", ["contact_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_contact_id")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_contact_event")
        batch_op.create_index(
            "ix_tickets_ticket_class_status", ["ticket_class_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_tickets_event_contact", ["event_id", "contact_id", "status"], unique=False
        )
