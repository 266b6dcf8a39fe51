"""tickets listed in creation order from one index

The attendee list orders by (created_at, id) over several statuses; an index led by status
made both databases sort the whole event (100,000 rows) for every page. An index in list
order lets them stop after one page.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 12:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_event_status_created")
        batch_op.create_index(
            "ix_tickets_event_created", ["event_id", "created_at", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_event_created")
        batch_op.create_index(
            "ix_tickets_event_status_created", ["event_id", "status", "created_at"], unique=False
        )
