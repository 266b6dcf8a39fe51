"""SQL for outbox rows."""

from __future__ import annotations

from typing import Any

from tessera.db import Connection
from tessera.kit import jsonutil


async def enqueue(
    conn: Connection, organization_id: str, kind: str, topic: str, payload: Any, now: int
) -> None:
    """Queue a side effect inside the caller's transaction: it exists only if that commits."""
    await conn.execute(
        "INSERT INTO outbox (organization_id, kind, topic, payload, status, attempts,"
        " next_attempt_at, created_at) VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5)",
        organization_id, kind, topic, jsonutil.dumps(payload).decode(), now,
    )
