"""the rows a create inserts check only their contact by foreign key

A create's tickets, payment and contact carried ten foreign keys; on PostgreSQL each is a
trigger that runs a query locking the referenced row (``FOR KEY SHARE``, a WAL record, and a
MultiXact when several creates lock one organization's row at once). Eight of them referred to
rows that are never deleted (organizations, events, ticket classes, payments) and that the
create has just read or written in the same transaction: the code path guarantees them, and
``tessera.db.integrity`` checks them (tests run it after every kind of create). The two that
refer to the contact stay: a contact can be deleted (``DELETE /contacts/{id}``), and the key is
what stops a delete racing a create that refers to it. docs/performance.md has the measurements.

Revision ID: 0010_pgcpu
Revises: 0009
Create Date: 2026-12-07 03:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010_pgcpu"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, referenced table): the keys this revision drops.
DROPPED = (
    ("tickets", "organization_id", "organizations"),
    ("tickets", "event_id", "events"),
    ("tickets", "ticket_class_id", "ticket_classes"),
    ("tickets", "payment_id", "payments"),
    ("payments", "organization_id", "organizations"),
    ("payments", "event_id", "events"),
    ("payments", "ticket_class_id", "ticket_classes"),
    ("contacts", "organization_id", "organizations"),
)


def _name(table: str, column: str, referred: str) -> str:
    return f"fk_{table}_{column}_{referred}"


def _tables() -> list[str]:
    return list(dict.fromkeys(table for table, _, _ in DROPPED))


def upgrade() -> None:
    for table in _tables():  # one batch per table: SQLite rebuilds each table once
        with op.batch_alter_table(table, schema=None) as batch_op:
            for owner, column, referred in DROPPED:
                if owner == table:
                    batch_op.drop_constraint(_name(owner, column, referred), type_="foreignkey")


def downgrade() -> None:
    for table in _tables():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for owner, column, referred in DROPPED:
                if owner == table:
                    batch_op.create_foreign_key(
                        _name(owner, column, referred), referred, [column], ["id"]
                    )
