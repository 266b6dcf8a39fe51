"""Changing a ticket's status: approve, check in, back to pending, reject, delete, scan.

Entering ``valid``/``checked_in`` from a status without a seat takes a seat under the capacity
rule; leaving them frees it. ``deleted`` and ``rejected`` are final.
"""

from __future__ import annotations

from typing import Any

from tessera import errors
from tessera.attendee import history, repository, seats
from tessera.attendee.presenter import present
from tessera.db import Connection, Row
from tessera.kit import clock
from tessera.metrics import record
from tessera.outbox import repository as outbox
from tessera.waitlist import triggers as waitlist
from tessera.webhook.emit import emit

FINAL_STATUSES = frozenset({"deleted", "rejected"})
STATUS_TOPIC = "attendee.status"


def already_checked_in(row: Row) -> errors.Unprocessable:
    return errors.Unprocessable(
        "Ticket already checked in",
        code="already_checked_in",
        details={"checked_in_at": clock.iso(row["checked_in_at"])},
    )


async def change_status(
    conn: Connection,
    organization_id: str,
    row: Row,
    target: str,
    now: int,
    actor: str | None = None,
) -> dict[str, Any]:
    """Move one locked ticket row to ``target`` and keep the seat counters exact; the change
    goes into the ticket's history with its ``actor`` (a dashboard user; None: the API)."""
    current = row["status"]
    if current in FINAL_STATUSES and target != current:
        raise errors.Unprocessable(
            f"Cannot change a {current} ticket: {current} is final",
            code="ticket_status_final",
            details={"status": current},
        )
    if current == "checked_in" and target == "checked_in":
        raise already_checked_in(row)
    if current == target:
        return present(row)

    holds_seat = current in repository.SEAT_STATUSES
    needs_seat = target in repository.SEAT_STATUSES
    if needs_seat and not holds_seat:
        await seats.take(conn, row["ticket_class_id"], row["event_id"], 1)
    elif holds_seat and not needs_seat:
        await repository.release_seat(conn, row["ticket_class_id"], row["event_id"])
        await waitlist.seats_may_have_freed(conn, organization_id, row["event_id"], now)

    checked_in_at = now if target == "checked_in" else None
    await repository.set_status(conn, row["id"], target, checked_in_at, now)
    await history.record(conn, organization_id, [(row["id"], current, target)], now, actor)
    attendee = present(
        {**dict(row), "status": target, "checked_in_at": checked_in_at, "updated_at": now}
    )
    event_type = "attendee.checked_in" if target == "checked_in" else "attendee.updated"
    if target == "checked_in":
        record.checked_in(conn)
    await emit(conn, organization_id, [(event_type, attendee["id"], attendee)], now)
    return attendee


async def update_attendee(
    conn: Connection,
    organization_id: str,
    event_id: str,
    ticket_id: str,
    target: str,
    now: int,
    *,
    notify_guest: bool = False,
    custom_message: str | None = None,
    actor: str | None = None,
) -> dict[str, Any]:
    if not await repository.event_exists(conn, organization_id, event_id):
        raise errors.event_not_found()
    row = await repository.get(conn, organization_id, event_id, ticket_id, lock=True)
    if row is None:
        raise errors.attendee_not_found()
    attendee = await change_status(conn, organization_id, row, target, now, actor)
    if notify_guest:
        await outbox.enqueue(
            conn,
            organization_id,
            "email",
            STATUS_TOPIC,
            {
                "event_id": event_id,
                "ticket_id": ticket_id,
                "status": target,
                "custom_message": custom_message,
            },
            now,
        )
    return attendee


async def check_in_by_barcode(
    conn: Connection,
    organization_id: str,
    event_id: str,
    barcode: str,
    now: int,
    actor: str | None = None,
) -> dict[str, Any]:
    """The door scan: ``valid`` → ``checked_in``; anything else says why not."""
    if not await repository.event_exists(conn, organization_id, event_id):
        raise errors.event_not_found()
    row = await repository.get_by_barcode(conn, organization_id, event_id, barcode, lock=True)
    if row is None:
        raise errors.NotFound("Ticket not found for this barcode", code="not_found")
    if row["status"] == "checked_in":
        raise errors.Conflict(
            "Ticket already checked in",
            code="already_checked_in",
            details={"checked_in_at": clock.iso(row["checked_in_at"])},
            extra={"result": "already_checked_in"},
        )
    if row["status"] != "valid":
        raise errors.Unprocessable(
            f"Ticket cannot be checked in: it is {row['status']}",
            code="ticket_not_valid",
            details={"status": row["status"]},
        )
    return await change_status(conn, organization_id, row, "checked_in", now, actor)
