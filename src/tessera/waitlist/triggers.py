""" "A seat may have freed up": the outbox row that makes the waitlist offer it.

Written in the transaction that frees the seat (a ticket leaves ``valid``/``checked_in``, or a
class's or event's capacity is raised), so the offer happens only if that commits, and after it
commits, from the outbox worker (``tessera.waitlist.offers``). Only when somebody is waiting on
the event: without a waitlist nothing is queued.
"""

from __future__ import annotations

from tessera.db import Connection
from tessera.kit import jsonutil
from tessera.outbox import wake

KIND = "waitlist"
CHECK_TOPIC = "waitlist.check"


async def seats_may_have_freed(
    conn: Connection, organization_id: str, event_id: str, now: int
) -> None:
    await conn.execute(
        "INSERT INTO outbox (organization_id, kind, topic, payload, ordering_key, status,"
        " attempts, next_attempt_at, created_at)"
        " SELECT $1, $2, $3, $4, NULL, 'pending', 0, $5, $5 WHERE EXISTS"
        " (SELECT 1 FROM waitlist_entries WHERE event_id = $6 AND status = 'waiting')",
        organization_id,
        KIND,
        CHECK_TOPIC,
        jsonutil.dumps({"event_id": event_id}).decode(),
        now,
        event_id,
    )
    conn.after_commit(wake.queued)  # this process's worker makes the offer at once
