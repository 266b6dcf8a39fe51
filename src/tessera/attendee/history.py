"""SQL for a ticket's status history: every change after it was issued.

The create path writes nothing here (the hot path stays as it was): the status a ticket was
issued with is the first change's ``from_status``, or its current status when it never changed,
and its time is the ticket's ``created_at``. Writes are deferred (``Connection.defer``): nothing
reads them in the transaction that makes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tessera.db import Connection
from tessera.kit import ids


def _change_id() -> str:
    return "tsc_" + ids.random_string(20)


async def record(
    conn: Connection,
    organization_id: str,
    changes: Sequence[tuple[str, str, str]],
    now: int,
    actor: str | None = None,
) -> None:
    """Record ``(ticket_id, from_status, to_status)`` changes made at ``now`` by ``actor``
    (a dashboard user's email; None for the API)."""
    if not changes:
        return
    width = 7
    values = ", ".join(
        "(" + ", ".join(f"${i * width + n}" for n in range(1, width + 1)) + ")"
        for i in range(len(changes))
    )
    args: list[Any] = []
    for ticket_id, from_status, to_status in changes:
        args += [_change_id(), organization_id, ticket_id, from_status, to_status, actor, now]
    await conn.defer(
        "INSERT INTO ticket_status_changes"
        " (id, organization_id, ticket_id, from_status, to_status, actor, created_at)"
        f" VALUES {values}",
        *args,
    )


async def of_ticket(conn: Connection, organization_id: str, ticket_id: str) -> list[Any]:
    """The ticket's changes, oldest first."""
    return await conn.fetch(
        "SELECT from_status, to_status, actor, created_at FROM ticket_status_changes"
        " WHERE organization_id = $1 AND ticket_id = $2 ORDER BY created_at, id",
        organization_id,
        ticket_id,
    )


def timeline(ticket: Any, changes: Sequence[Any]) -> list[dict[str, Any]]:
    """The whole history: issued (with its first status), then each change."""
    first = changes[0]["from_status"] if changes else ticket["status"]
    entries: list[dict[str, Any]] = [
        {"from_status": None, "to_status": first, "at": ticket["created_at"], "actor": None}
    ]
    entries += [
        {
            "from_status": c["from_status"],
            "to_status": c["to_status"],
            "at": c["created_at"],
            "actor": c["actor"],
        }
        for c in changes
    ]
    return entries
