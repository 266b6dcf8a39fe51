"""SQL for outbox rows: enqueue in the business transaction; claim, finish and retry in the
worker's own short transactions."""

from __future__ import annotations

from typing import Any

from tessera.db import Connection, Row
from tessera.kit import jsonutil
from tessera.outbox import wake


async def enqueue(
    conn: Connection,
    organization_id: str,
    kind: str,
    topic: str,
    payload: Any,
    now: int,
    *,
    ordering_key: str | None = None,
) -> None:
    """Queue a side effect inside the caller's transaction: it exists only if that commits.

    Deferred (see ``Connection.defer``): nothing reads the row in the transaction that makes
    it."""
    await conn.defer(
        "INSERT INTO outbox (organization_id, kind, topic, payload, ordering_key, status,"
        " attempts, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6)",
        organization_id,
        kind,
        topic,
        jsonutil.dumps(payload).decode(),
        ordering_key,
        now,
    )
    conn.after_commit(wake.queued)  # this process's worker delivers it at once


async def find(conn: Connection, organization_id: str, row_id: int) -> Row | None:
    return await conn.fetchrow(
        "SELECT id, kind, topic, payload, ordering_key, status FROM outbox"
        " WHERE organization_id = $1 AND id = $2",
        organization_id,
        row_id,
    )


async def claim_due(conn: Connection, now: int, lease_until: int, limit: int) -> list[Row]:
    """Take up to ``limit`` due rows for delivery.

    A claimed row is ``sending`` with ``next_attempt_at`` pushed to the end of its lease: if the
    worker dies mid-delivery the row becomes due again when the lease ends. Rows whose
    ordering key has an earlier undelivered row wait for it. PostgreSQL workers skip rows another
    worker has locked; SQLite runs one writer at a time.
    """
    skip_locked = " FOR UPDATE SKIP LOCKED" if conn.dialect == "postgresql" else ""
    return await conn.fetch(
        "UPDATE outbox SET status = 'sending', attempts = attempts + 1, next_attempt_at = $2"
        " WHERE id IN (SELECT o.id FROM outbox o"
        "  WHERE o.status IN ('pending', 'sending') AND o.next_attempt_at <= $1"
        "  AND (o.ordering_key IS NULL OR NOT EXISTS (SELECT 1 FROM outbox e"
        "   WHERE e.ordering_key = o.ordering_key AND e.id < o.id"
        "   AND e.status IN ('pending', 'sending')))"
        f"  ORDER BY o.next_attempt_at, o.id LIMIT $3{skip_locked})"
        " RETURNING id, organization_id, kind, topic, payload, attempts, created_at",
        now,
        lease_until,
        limit,
    )


async def mark_delivered(conn: Connection, row_id: int, now: int) -> None:
    await conn.execute(
        "UPDATE outbox SET status = 'delivered', delivered_at = $2, last_error = NULL"
        " WHERE id = $1",
        row_id,
        now,
    )


async def schedule_retry(conn: Connection, row_id: int, at: int, error: str) -> None:
    await conn.execute(
        "UPDATE outbox SET status = 'pending', next_attempt_at = $2, last_error = $3 WHERE id = $1",
        row_id,
        at,
        error[:2000],
    )


async def mark_failed(conn: Connection, row_id: int, error: str) -> None:
    await conn.execute(
        "UPDATE outbox SET status = 'failed', last_error = $2 WHERE id = $1", row_id, error[:2000]
    )
