from sqlalchemy import Column, Index, Table, Text, UniqueConstraint

from tessera.models.base import Micros, metadata

contacts = Table(
    "contacts",
    metadata,
    Column("id", Text, primary_key=True),
    # Not a foreign key: organizations are never deleted and every contact is made under the
    # authenticated organization (tessera.db.integrity checks it; docs/performance.md).
    Column("organization_id", Text, nullable=False),
    Column("email", Text, nullable=False),  # lower-cased and trimmed; the upsert key
    Column("first_name", Text, nullable=True),
    Column("last_name", Text, nullable=True),
    Column("phone", Text, nullable=True),
    Column("erased_at", Micros, nullable=True),
    Column("created_at", Micros, nullable=False),
    Column("updated_at", Micros, nullable=False),
    UniqueConstraint("organization_id", "email"),
)
Index("ix_contacts_org_created", contacts.c.organization_id, contacts.c.created_at)
