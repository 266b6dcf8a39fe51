"""Queueing webhook events inside the business transaction that caused them.

An event exists only if its transaction commits (a rolled-back or replayed request sends
nothing). This runs on the hot path of Create Attendee, so one call costs at most one statement
(deferred: on PostgreSQL it travels with the transaction's next statement):
an ``INSERT … SELECT`` that crosses the items with the organization's enabled, subscribed
endpoints. An organization without endpoints gets an index lookup that finds nothing.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from tessera.db import Connection, OneStatement
from tessera.kit import clock, jsonutil
from tessera.outbox import wake

EVENT_TYPES = (
    "attendee.created",
    "attendee.updated",
    "attendee.checked_in",
    "payment.succeeded",
    "event.created",
    "event.updated",
)
KIND = "webhook"

# (event type, ID of the object, the object exactly as the API returns it)
Item = tuple[str, str, dict[str, Any]]


@lru_cache(maxsize=128)
def _sql(count: int) -> str:
    rows = ", ".join(f"({i}, ${3 * i + 3}, ${3 * i + 4}, ${3 * i + 5})" for i in range(count))
    # The payload is assembled in SQL because the endpoint is known only there. Both parts are
    # safe to splice: endpoint IDs use a fixed alphabet, and ``body`` is JSON encoded in Python.
    # ``events`` is a JSON list of known types, so matching '"type"' in it is exact.
    # Rows sharing an ordering key (one endpoint, one object) are delivered in ID order, and the
    # ORDER BY makes the IDs follow the order of the items.
    return (
        f"WITH items (position, topic, object_id, body) AS (VALUES {rows})"
        " INSERT INTO outbox (organization_id, kind, topic, payload, ordering_key, status,"
        " attempts, next_attempt_at, created_at)"
        f" SELECT e.organization_id, '{KIND}', i.topic,"
        " '{\"endpoint_id\":\"' || e.id || '\",\"body\":' || i.body || '}',"
        " e.id || '/' || i.object_id, 'pending', 0, CAST($2 AS BIGINT), CAST($2 AS BIGINT)"
        " FROM webhook_endpoints e JOIN items i"
        " ON (e.events = '[]' OR e.events LIKE ('%\"' || i.topic || '\"%'))"
        " WHERE e.organization_id = $1 AND e.enabled"
        " ORDER BY i.position, e.id"
    )


async def emit(conn: Connection, organization_id: str, items: list[Item], now: int) -> None:
    """Queue a delivery for every item to every enabled endpoint subscribed to its type.

    One statement, whatever the number of items and endpoints.

    Call it inside the transaction that made the change; ``data`` must be the object exactly as
    the API returns it, since that is what receivers get.
    """
    if not items:
        return
    timestamp = clock.iso(now)
    args: list[Any] = [organization_id, now]
    for event_type, object_id, data in items:
        body = {"type": event_type, "timestamp": timestamp, "data": data}
        args += [event_type, object_id, jsonutil.dumps(body).decode()]
    await conn.defer(_sql(len(items)), *args)  # nothing reads the outbox rows it writes
    conn.after_commit(wake.queued)


# Whether the organization has an enabled endpoint: read with what a one-statement create reads.
ANY_ENABLED = (
    "EXISTS (SELECT 1 FROM webhook_endpoints w WHERE w.organization_id = $1 AND w.enabled)"
)


async def expect_none_enabled(conn: OneStatement, organization_id: str) -> None:
    """In a one-statement unit, in place of :func:`emit` when its read found no enabled
    endpoint: still none when the statement runs, or the unit is stale (and the transaction
    emits). Most organizations have no endpoint; without this, every create's statement would
    carry an ``INSERT … SELECT`` into the outbox (the table and its three indexes opened and
    locked, a sort) that writes nothing."""
    await conn.expect(
        0,
        "SELECT 1 FROM webhook_endpoints WHERE organization_id = $1 AND enabled LIMIT 1",
        organization_id,
    )
