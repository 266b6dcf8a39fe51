"""SQL for stored outcomes of requests sent with an Idempotency-Key.

In-flight exclusion differs by database:
- PostgreSQL: a transaction-scoped advisory lock on (api key, idempotency key), taken with
  ``pg_try_advisory_xact_lock`` so a second request never waits: it answers 409 at once. The lock
  dies with the transaction or the connection, so a crashed request frees its key immediately
  (well inside the 60 s lease the contract allows).
- SQLite: every write transaction holds the database's single write lock (``BEGIN IMMEDIATE``),
  so two requests with one key are already serialized; the second sees the first's outcome.
"""

from __future__ import annotations

from tessera.db import Connection, Row

TTL_MICROS = 24 * 3600 * 1_000_000


async def find(conn: Connection, api_key_id: str, key: str, now: int) -> Row | None:
    return await conn.fetchrow(
        "SELECT fingerprint, status_code, headers, body FROM idempotency_keys"
        " WHERE api_key_id = $1 AND key = $2 AND created_at > $3",
        api_key_id,
        key,
        now - TTL_MICROS,
    )


async def try_lock(conn: Connection, api_key_id: str, key: str) -> bool:
    if conn.dialect != "postgresql":
        return True
    locked = await conn.fetchval(
        "SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))", f"{api_key_id}\x1f{key}"
    )
    return bool(locked)


async def insert(
    conn: Connection,
    *,
    api_key_id: str,
    key: str,
    fingerprint: str,
    status_code: int,
    headers: str,
    body: bytes,
    now: int,
) -> bool:
    """Store an outcome; replaces an expired one. False when a live outcome is already there."""
    row = await conn.fetchrow(
        "INSERT INTO idempotency_keys (api_key_id, key, fingerprint, status_code, headers, body,"
        " created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT (api_key_id, key) DO UPDATE SET fingerprint = excluded.fingerprint,"
        " status_code = excluded.status_code, headers = excluded.headers, body = excluded.body,"
        " created_at = excluded.created_at WHERE idempotency_keys.created_at <= $8"
        " RETURNING 1",
        api_key_id,
        key,
        fingerprint,
        status_code,
        headers,
        body,
        now,
        now - TTL_MICROS,
    )
    return row is not None


async def purge_expired(conn: Connection, now: int, limit: int = 10_000) -> int:
    return await conn.execute(
        "DELETE FROM idempotency_keys WHERE created_at <= $1", now - TTL_MICROS
    )
