from sqlalchemy import BigInteger, Column, Index, Integer, Table, Text

from tessera.models.base import Micros, metadata

# Side effects (emails, webhook deliveries) written in the business transaction and delivered
# after commit by the worker, so a rolled-back request never sends anything.
outbox = Table(
    "outbox",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("organization_id", Text, nullable=False),
    Column("kind", Text, nullable=False),  # email | webhook
    Column("topic", Text, nullable=False),  # e.g. attendee.confirmation
    Column("payload", Text, nullable=False),  # JSON
    # Rows sharing a key are delivered one at a time in id order (e.g. one webhook endpoint and
    # one object), so a retried earlier message is never overtaken by a later one.
    Column("ordering_key", Text, nullable=True),
    Column("status", Text, nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Micros, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("created_at", Micros, nullable=False),
    Column("delivered_at", Micros, nullable=True),
)
Index("ix_outbox_status_next_attempt", outbox.c.status, outbox.c.next_attempt_at)
Index("ix_outbox_ordering_key", outbox.c.ordering_key, outbox.c.id)
