"""SQL for organizations and API keys."""

from __future__ import annotations

from tessera.db import Connection, Row


async def insert_organization(conn: Connection, org_id: str, name: str, now: int) -> None:
    await conn.execute(
        "INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)", org_id, name, now
    )


async def get_organization(conn: Connection, org_id: str) -> Row | None:
    return await conn.fetchrow(
        "SELECT id, name, created_at FROM organizations WHERE id = $1", org_id
    )


async def insert_api_key(
    conn: Connection,
    *,
    key_id: str,
    organization_id: str,
    name: str,
    display_prefix: str,
    key_hash: str,
    scopes: str,
    now: int,
) -> None:
    await conn.execute(
        "INSERT INTO api_keys (id, organization_id, name, display_prefix, key_hash, scopes,"
        " created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)",
        key_id,
        organization_id,
        name,
        display_prefix,
        key_hash,
        scopes,
        now,
    )


async def find_by_hash(conn: Connection, key_hash: str) -> Row | None:
    return await conn.fetchrow(
        "SELECT id, organization_id, key_hash, scopes, revoked_at FROM api_keys"
        " WHERE key_hash = $1",
        key_hash,
    )


async def list_keys(conn: Connection, organization_id: str) -> list[Row]:
    return await conn.fetch(
        "SELECT id, organization_id, name, display_prefix, scopes, created_at, revoked_at"
        " FROM api_keys WHERE organization_id = $1 ORDER BY created_at, id",
        organization_id,
    )


async def revoke(conn: Connection, key_id: str, now: int) -> Row | None:
    await conn.execute(
        "UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL", key_id, now
    )
    return await conn.fetchrow(
        "SELECT id, organization_id, name, display_prefix, scopes, created_at, revoked_at"
        " FROM api_keys WHERE id = $1",
        key_id,
    )


async def find_by_hash_with_outcome(
    conn: Connection, key_hash: str, idempotency_key: str, stored_since: int
) -> Row | None:
    """The key and, in the same round trip, the live stored outcome of ``idempotency_key``.

    A keyed POST that is a retry is then answered with one indexed lookup in total.
    """
    return await conn.fetchrow(
        "SELECT k.id, k.organization_id, k.key_hash, k.scopes, k.revoked_at,"
        " i.fingerprint, i.status_code, i.headers, i.body"
        " FROM api_keys k LEFT JOIN idempotency_keys i"
        " ON i.api_key_id = k.id AND i.key = $2 AND i.created_at > $3"
        " WHERE k.key_hash = $1",
        key_hash,
        idempotency_key,
        stored_since,
    )
