"""SQL for contacts, always filtered by organization."""

from __future__ import annotations

from tessera.db import Connection, Row

COLUMNS = "id, email, first_name, last_name, phone, erased_at, created_at, updated_at"


async def upsert(
    conn: Connection,
    organization_id: str,
    *,
    new_id: str,
    email: str,
    first_name: str | None,
    last_name: str | None,
    phone: str | None,
    now: int,
) -> Row:
    """Create the contact for ``email`` or update its names with the non-empty values given.

    Returns the contact; its ``id`` equals ``new_id`` exactly when it was created now.
    """
    row = await conn.fetchrow(
        f"INSERT INTO contacts (id, organization_id, email, first_name, last_name, phone,"
        f" erased_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $7)"
        f" ON CONFLICT (organization_id, email) DO UPDATE SET"
        f" first_name = COALESCE(NULLIF(excluded.first_name, ''), contacts.first_name),"
        f" last_name = COALESCE(NULLIF(excluded.last_name, ''), contacts.last_name),"
        f" phone = COALESCE(NULLIF(excluded.phone, ''), contacts.phone),"
        f" updated_at = excluded.updated_at"
        f" RETURNING {COLUMNS}",
        new_id, organization_id, email, first_name or None, last_name or None, phone or None, now,
    )
    assert row is not None
    return row
