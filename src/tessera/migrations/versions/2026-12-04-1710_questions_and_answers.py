"""questions, answers on tickets, and the progress of keyed imports (SPEC §10)

``tickets.answers`` is added in place (SQLite's ALTER TABLE ADD COLUMN, no table copy): a
nullable column with no default costs nothing on existing rows.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 17:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attendee_imports",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("organization_id", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("api_key_id", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("lease_owner", sa.Text(), nullable=False),
        sa.Column("lease_until", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_attendee_imports_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendee_imports")),
    )
    with op.batch_alter_table("attendee_imports", schema=None) as batch_op:
        batch_op.create_index(
            "ix_attendee_imports_api_key_id", ["api_key_id", "idempotency_key"], unique=True
        )
        batch_op.create_index("ix_attendee_imports_created_at", ["created_at"], unique=False)

    op.create_table(
        "attendee_import_rows",
        sa.Column("import_id", sa.Text(), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["attendee_imports.id"],
            name=op.f("fk_attendee_import_rows_import_id_attendee_imports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("import_id", "row_no", name=op.f("pk_attendee_import_rows")),
    )
    op.create_table(
        "questions",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("organization_id", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("label_key", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("options", sa.Text(), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("ticket_class_ids", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("deleted_at", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_questions_event_id_events")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_questions_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questions")),
    )
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.create_index("ix_questions_event_position", ["event_id", "position"], unique=False)
        batch_op.create_index(
            "uq_questions_live_label",
            ["event_id", "label_key"],
            unique=True,
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answers", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("answers")

    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.drop_index("uq_questions_live_label")
        batch_op.drop_index("ix_questions_event_position")

    op.drop_table("questions")
    op.drop_table("attendee_import_rows")
    with op.batch_alter_table("attendee_imports", schema=None) as batch_op:
        batch_op.drop_index("ix_attendee_imports_created_at")
        batch_op.drop_index("ix_attendee_imports_api_key_id")

    op.drop_table("attendee_imports")
