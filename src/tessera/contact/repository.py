"""SQL for contacts, always filtered by organization."""

from __future__ import annotations

from typing import Any

from tessera.db import Connection, OneStatement, Row

COLUMNS = "id, email, first_name, last_name, phone, erased_at, created_at, updated_at"


# A new contact; empty names and phone are stored as NULL.
_INSERT = (
    "INSERT INTO contacts (id, organization_id, email, first_name, last_name, phone,"
    " erased_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $7)"
)


_UPSERT = (
    f"{_INSERT} ON CONFLICT (organization_id, email) DO UPDATE SET"
    " first_name = COALESCE(NULLIF(excluded.first_name, ''), contacts.first_name),"
    " last_name = COALESCE(NULLIF(excluded.last_name, ''), contacts.last_name),"
    " phone = COALESCE(NULLIF(excluded.phone, ''), contacts.phone),"
    " updated_at = excluded.updated_at"
    f" RETURNING {COLUMNS}"
)
# Inside a one-statement unit a contact that appeared since the read makes the insert fail on
# the unique key, and the unit gives way (an integrity violation is stale, nothing written):
# a plain insert, without ON CONFLICT's speculative insertion (its pre-check and the extra
# WAL record that confirms it) on every create.
_INSERT_EXPECTED = f"{_INSERT} RETURNING 1"


def _insert_args(
    organization_id: str,
    new_id: str,
    email: str,
    first_name: str | None,
    last_name: str | None,
    phone: str | None,
    now: int,
) -> tuple[Any, ...]:
    names = (first_name or None, last_name or None, phone or None)
    return (new_id, organization_id, email, *names, now)


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
        _UPSERT,
        *_insert_args(organization_id, new_id, email, first_name, last_name, phone, now),
    )
    assert row is not None
    return row


async def expect_insert(
    conn: OneStatement,
    organization_id: str,
    *,
    new_id: str,
    email: str,
    first_name: str | None,
    last_name: str | None,
    phone: str | None,
    now: int,
) -> dict[str, Any]:
    """In a one-statement unit: create the contact that was not there when read; if one with
    this email appeared meanwhile, the unit is stale (its unique key refuses the insert).
    Returns the contact as it will be."""
    await conn.expect(
        1,
        _INSERT_EXPECTED,
        *_insert_args(organization_id, new_id, email, first_name, last_name, phone, now),
    )
    return {
        "id": new_id,
        "email": email,
        "first_name": first_name or None,
        "last_name": last_name or None,
    }


async def expect_update(
    conn: OneStatement,
    organization_id: str,
    read: Row,
    *,
    email: str,
    first_name: str | None,
    last_name: str | None,
    phone: str | None,
    now: int,
) -> dict[str, Any]:
    """In a one-statement unit: :func:`upsert`'s update of an existing contact (the non-empty
    values given replace the stored ones), as long as its row is still the version ``read``
    (``contact_id``, ``contact_version``; its ``first_name`` and ``last_name`` make the answer);
    else the unit is stale.
    PostgreSQL checks the version on the newest row after waiting for its lock, so any write of
    the contact since the read (a concurrent create's upsert among them) is seen. Returns the
    contact as it will be."""
    await conn.expect(
        1,
        "UPDATE contacts SET first_name = COALESCE($4, first_name),"
        " last_name = COALESCE($5, last_name), phone = COALESCE($6, phone), updated_at = $7"
        " WHERE id = $1 AND organization_id = $2 AND email = $3 AND xmin::text = $8"
        " RETURNING 1",
        read["contact_id"],
        organization_id,
        email,
        first_name or None,
        last_name or None,
        phone or None,
        now,
        read["contact_version"],
    )
    return {
        "id": read["contact_id"],
        "email": email,
        "first_name": first_name or read["first_name"],
        "last_name": last_name or read["last_name"],
    }


# Erased contacts (GDPR) keep their row for ticket history but are gone from the API.
_LIVE = "organization_id = $1 AND erased_at IS NULL"


async def get(
    conn: Connection, organization_id: str, contact_id: str, *, lock: bool = False
) -> Row | None:
    suffix = " FOR UPDATE" if lock and conn.dialect == "postgresql" else ""
    return await conn.fetchrow(
        f"SELECT {COLUMNS} FROM contacts WHERE {_LIVE} AND id = $2{suffix}",
        organization_id,
        contact_id,
    )


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def list_page(
    conn: Connection,
    organization_id: str,
    *,
    email: str | None,
    q: str | None,
    limit: int,
    offset: int,
) -> tuple[list[Row], int]:
    where = [_LIVE]
    args: list[Any] = [organization_id]
    if email is not None:
        args.append(email)
        where.append(f"email = ${len(args)}")
    if q is not None:
        # lower() on both sides: each database folds the same characters of column and query.
        args.append(_like_pattern(q))
        n = len(args)
        matches = " OR ".join(
            f"lower({column}) LIKE lower(${n}) ESCAPE '\\'"
            for column in ("first_name", "last_name", "email")
        )
        where.append(f"({matches})")
    condition = " AND ".join(where)
    total = await conn.fetchval(f"SELECT count(*) FROM contacts WHERE {condition}", *args)
    n = len(args)
    rows = await conn.fetch(
        f"SELECT {COLUMNS} FROM contacts WHERE {condition} ORDER BY created_at DESC, id"
        f" LIMIT ${n + 1} OFFSET ${n + 2}",
        *args,
        limit,
        offset,
    )
    return rows, int(total)


UPDATABLE = frozenset({"email", "first_name", "last_name", "phone", "updated_at"})


async def update(
    conn: Connection, organization_id: str, contact_id: str, values: dict[str, Any]
) -> Row | None:
    """Change a live contact; None when there is none. A taken email raises IntegrityViolation."""
    columns = [column for column in values if column in UPDATABLE]
    sets = ", ".join(f"{column} = ${i + 3}" for i, column in enumerate(columns))
    return await conn.fetchrow(
        f"UPDATE contacts SET {sets} WHERE {_LIVE} AND id = $2 RETURNING {COLUMNS}",
        organization_id,
        contact_id,
        *(values[column] for column in columns),
    )


async def has_history(conn: Connection, organization_id: str, contact_id: str) -> bool:
    """Whether a ticket or a payment refers to the contact (a ticket moved by an invited upgrade
    can leave a payment behind without tickets)."""
    row = await conn.fetchrow(
        "SELECT 1 WHERE EXISTS (SELECT 1 FROM tickets WHERE organization_id = $1"
        " AND contact_id = $2) OR EXISTS (SELECT 1 FROM payments WHERE organization_id = $1"
        " AND contact_id = $2)",
        organization_id,
        contact_id,
    )
    return row is not None


async def delete(conn: Connection, organization_id: str, contact_id: str) -> None:
    await conn.execute(
        "DELETE FROM contacts WHERE organization_id = $1 AND id = $2", organization_id, contact_id
    )


async def erase(conn: Connection, organization_id: str, contact_id: str, now: int) -> None:
    await conn.execute(
        "UPDATE contacts SET email = $3, first_name = NULL, last_name = NULL, phone = NULL,"
        " erased_at = $4, updated_at = $4 WHERE organization_id = $1 AND id = $2",
        organization_id,
        contact_id,
        erased_email(contact_id),
        now,
    )


def erased_email(contact_id: str) -> str:
    # The reserved .invalid TLD can never be delivered to, and email validation refuses it, so
    # no upsert can ever land on an erased contact.
    return f"{contact_id}@erased.invalid"
