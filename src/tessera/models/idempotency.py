from sqlalchemy import Column, Index, Integer, LargeBinary, PrimaryKeyConstraint, Table, Text

from tessera.models.base import Micros, metadata

# The stored outcome of a request sent with an Idempotency-Key, written in the same transaction
# as the request's business writes.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("api_key_id", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("fingerprint", Text, nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("headers", Text, nullable=False),  # JSON object of the headers that matter
    Column("body", LargeBinary, nullable=False),
    Column("created_at", Micros, nullable=False),
    PrimaryKeyConstraint("api_key_id", "key"),
)
Index("ix_idempotency_keys_created_at", idempotency_keys.c.created_at)
