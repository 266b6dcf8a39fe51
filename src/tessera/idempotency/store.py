"""SQL for stored outcomes of requests sent with an Idempotency-Key.

In-flight exclusion differs by database:
- PostgreSQL: a transaction-scoped advisory lock on (api key, idempotency key), taken with
  ``pg_try_advisory_xact_lock`` so a second request never waits: it answers 409 at once. The lock
  dies with the transaction or the connection, so a crashed request frees its key immediately
  (well inside the 60 s lease the contract allows).
  A request sent as one statement (``tessera.db.run_as_one_statement``) takes the same lock
  inside that statement, as its first expectation: a request in flight still makes it fail.
- SQLite: every write transaction holds the database's single write lock (``BEGIN IMMEDIATE``),
  so two requests with one key are already serialized; the second sees the first's outcome.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from tessera.db import Connection, OneStatement, Row

TTL_MICROS = 24 * 3600 * 1_000_000


async def find(conn: Connection, api_key_id: str, key: str, now: int) -> Row | None:
    return await conn.fetchrow(
        "SELECT fingerprint, status_code, headers, body FROM idempotency_keys"
        " WHERE api_key_id = $1 AND key = $2 AND created_at > $3",
        api_key_id,
        key,
        now - TTL_MICROS,
    )


def _lock_name(api_key_id: str, key: str) -> str:
    return f"{api_key_id}\x1f{key}"


async def try_lock(conn: Connection, api_key_id: str, key: str) -> bool:
    if conn.dialect != "postgresql":
        return True
    locked = await conn.fetchval(
        "SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))", _lock_name(api_key_id, key)
    )
    return bool(locked)


async def expect_lock(conn: OneStatement, api_key_id: str, key: str) -> None:
    """The same lock, taken inside a one-statement unit: no row (the unit is stale) while
    another request with this key is in flight."""
    await conn.expect(
        1,
        "SELECT 1 WHERE pg_try_advisory_xact_lock(hashtextextended($1, 0))",
        _lock_name(api_key_id, key),
    )


_INSERT = (
    "INSERT INTO idempotency_keys (api_key_id, key, fingerprint, status_code, headers, body,"
    " created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    " ON CONFLICT (api_key_id, key) DO UPDATE SET fingerprint = excluded.fingerprint,"
    " status_code = excluded.status_code, headers = excluded.headers, body = excluded.body,"
    " created_at = excluded.created_at WHERE idempotency_keys.created_at <= $8"
    " RETURNING 1"
)


class Outcome(NamedTuple):
    """What is stored for a key: the response, and the fingerprint of the request it answers."""

    api_key_id: str
    key: str
    fingerprint: str
    status_code: int
    headers: str
    body: bytes
    now: int


def _insert_args(outcome: Outcome) -> tuple[Any, ...]:
    return (*outcome, outcome.now - TTL_MICROS)


async def insert(conn: Connection, outcome: Outcome) -> bool:
    """Store an outcome; replaces an expired one. False when a live outcome is already there."""
    return await conn.fetchrow(_INSERT, *_insert_args(outcome)) is not None


async def expect_insert(conn: OneStatement, outcome: Outcome) -> None:
    """Store an outcome inside a one-statement unit: a live outcome already there makes the
    unit stale."""
    await conn.expect(1, _INSERT, *_insert_args(outcome))


async def purge_expired(conn: Connection, now: int, limit: int = 10_000) -> int:
    return await conn.execute(
        "DELETE FROM idempotency_keys WHERE created_at <= $1", now - TTL_MICROS
    )
