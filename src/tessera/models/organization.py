from sqlalchemy import Column, ForeignKey, Index, Table, Text

from tessera.models.base import Micros, metadata

organizations = Table(
    "organizations",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("created_at", Micros, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Text, primary_key=True),
    Column("organization_id", Text, ForeignKey("organizations.id"), nullable=False),
    Column("name", Text, nullable=False),
    # First characters of the key, shown in listings so an operator can tell keys apart.
    Column("display_prefix", Text, nullable=False),
    # SHA-256 hex digest of the whole key; the key itself is never stored.
    Column("key_hash", Text, nullable=False, unique=True),
    # JSON object {"resource": "none" | "read" | "write"}
    Column("scopes", Text, nullable=False),
    Column("created_at", Micros, nullable=False),
    Column("revoked_at", Micros, nullable=True),
)
Index("ix_api_keys_organization_id", api_keys.c.organization_id)
