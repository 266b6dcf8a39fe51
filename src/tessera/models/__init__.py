"""The tables, defined once. Alembic migrations are generated from this metadata and a test
checks that the two agree. Runtime code talks SQL through :mod:`tessera.db`, not through these
objects; they are the schema's single source of truth.

Conventions: IDs are text; every ``*_at`` column is BIGINT microseconds since the epoch (UTC);
money is a decimal string beside its currency.
"""

from tessera.models.base import metadata
from tessera.models import organization, event, ticket_class, contact, payment, ticket, outbox, idempotency, webhook  # noqa: F401,E501

__all__ = ["metadata"]
