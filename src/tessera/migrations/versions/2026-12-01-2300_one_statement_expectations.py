"""tessera_unexpected(): how a unit of work sent as one statement refuses to commit

On PostgreSQL a Create Attendee may run as one statement (tessera.db.run_as_one_statement):
its writes are checked inside that statement against what its reads saw, and a failed check
must abort the statement so that nothing of it commits. Plain SQL cannot raise an error, so the
statement calls this function, which raises SQLSTATE TS001; the caller then runs the
transaction instead. SQLite needs nothing: it always runs the transaction.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 23:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # VOLATILE (the default) matters: PostgreSQL must not fold the call away at plan time.
    op.execute(
        """
        CREATE OR REPLACE FUNCTION tessera_unexpected(part integer) RETURNS boolean
        LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
            RAISE EXCEPTION 'part % of a one-statement unit of work found the database changed',
                part USING ERRCODE = 'TS001';
        END
        $$
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION IF EXISTS tessera_unexpected(integer)")
