"""The tables, defined once. Alembic migrations are generated from this metadata and a test
checks that the two agree. Runtime code talks SQL through :mod:`tessera.db`, not through these
objects; they are the schema's single source of truth.

Conventions: IDs are text; every ``*_at`` column is BIGINT microseconds since the epoch (UTC);
money is a decimal string beside its currency.
"""

# Importing the table modules registers their tables on the shared metadata.
from tessera.models import (  # noqa: F401
    account,
    contact,
    event,
    idempotency,
    organization,
    outbox,
    payment,
    question,
    ticket,
    ticket_class,
    ticket_history,
    waitlist,
    webhook,
)
from tessera.models.base import metadata

__all__ = ["metadata"]
