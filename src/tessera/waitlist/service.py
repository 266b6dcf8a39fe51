"""Joining the waitlist, and claiming or declining an offer through its secret link.

A claim turns the invited ticket ``valid`` through the same status change as Update Attendee
(``tessera.attendee.transitions.change_status``), so it takes its seat under the exact capacity
rule; ``pending_approval`` where the class or the event requires approval. It must also leave
the seats owed to open offers earlier in line: a claim never takes the seat of the person
before it. A claim that finds no seat puts the person back in line, where they were.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tessera import errors
from tessera.attendee import repository as tickets
from tessera.attendee import transitions
from tessera.attendee.create import CONFIRMATION_TOPIC
from tessera.db import Connection, Row
from tessera.kit import ids
from tessera.outbox import repository as outbox
from tessera.waitlist import offers, repository
from tessera.waitlist.triggers import CHECK_TOPIC, KIND


@dataclass(frozen=True, slots=True)
class Joined:
    entry_id: str
    status: str  # the entry's status now
    new: bool  # False: this email was already in line for this class


def entry_id() -> str:
    return "wle_" + ids.random_string(17)


async def join(
    conn: Connection,
    organization_id: str,
    event_id: str,
    class_id: str,
    person: dict[str, Any],
    now: int,
) -> Joined:
    """Put ``person`` (email, first_name, last_name) in line for the class: one entry per email
    and class. An entry that expired or left joins again at the end of the line."""
    await repository.lock_class(conn, class_id)
    await repository.lock_event(conn, event_id)
    found = await repository.find(conn, class_id, person["email"])
    if found is not None and found["status"] in ("waiting", "offered", "claimed"):
        return Joined(found["id"], found["status"], False)
    if found is not None:
        await repository.rejoin(conn, found["id"], person["first_name"], person["last_name"], now)
        joined = Joined(found["id"], "waiting", True)
    else:
        values = {
            "id": entry_id(),
            "organization_id": organization_id,
            "event_id": event_id,
            "ticket_class_id": class_id,
            **person,
            "created_at": now,
        }
        await repository.insert(conn, values)
        joined = Joined(values["id"], "waiting", True)
    payload = {"entry_id": joined.entry_id}
    await outbox.enqueue(
        conn, organization_id, offers.EMAIL_KIND, offers.JOINED_EMAIL, payload, now
    )
    # A seat freed while this transaction waited for the locks found nobody waiting: look again
    # once this commits (a look that finds nothing to offer does nothing).
    await outbox.enqueue(conn, organization_id, KIND, CHECK_TOPIC, {"event_id": event_id}, now)
    return joined


@dataclass(frozen=True, slots=True)
class ClaimResult:
    outcome: str  # claimed | pending_approval | expired | closed | registration_closed
    entry: Row
    payment_id: str | None = None


class NoSeat(Exception):
    """The claim found no seat for this person (taken, or owed to an offer earlier in line)."""


async def claim(conn: Connection, token: str, now: int) -> ClaimResult:
    """Claim the offer of ``token``. Raises 404 for an unknown token; ``no_seat`` means the
    caller must put the entry back in line (:func:`back_in_line`) in a new transaction, as this
    one is rolled back by the refusal."""
    entry = await _entry(conn, token)
    organization_id = entry["organization_id"]
    await repository.lock_class(conn, entry["ticket_class_id"])
    event = await repository.lock_event(conn, entry["event_id"])
    await repository.settle_offers(conn, entry["event_id"], now)
    entry = await _entry(conn, token)
    if entry["status"] != "offered":
        return ClaimResult("closed", entry)
    if entry["offer_expires_at"] <= now:
        await offers.end_offer(conn, organization_id, entry, "expired", now)
        await offers.offer_seats(conn, organization_id, entry["event_id"], now)
        return ClaimResult("expired", entry)
    assert event is not None
    if not offers.is_open(event):
        return ClaimResult("registration_closed", entry)
    seats = await repository.class_seats(conn, entry["ticket_class_id"])
    assert seats is not None
    approval = bool(seats["require_approval"] or event["require_approval"])
    if not approval:
        ahead = await repository.offers_ahead(conn, entry)
        if offers._room(seats["quantity_total"], seats["quantity_sold"]) - ahead < 1:
            raise NoSeat()
    ticket = await tickets.get(
        conn, organization_id, entry["event_id"], entry["attendee_id"], lock=True
    )
    assert ticket is not None  # settle_offers: an open offer's ticket is invited
    target = "pending_approval" if approval else "valid"
    try:
        await transitions.change_status(conn, organization_id, ticket, target, now)
    except errors.CapacityExceeded:
        raise NoSeat() from None
    await repository.set_status(conn, entry["id"], "claimed", now)
    await outbox.enqueue(
        conn,
        organization_id,
        "email",
        CONFIRMATION_TOPIC,
        {
            "event_id": entry["event_id"],
            "payment_id": ticket["payment_id"],
            "contact_id": ticket["contact_id"],
            "ticket_ids": [ticket["id"]],
        },
        now,
    )
    if approval:  # the seat stays free until the organizer approves: offer it on
        await outbox.enqueue(
            conn, organization_id, KIND, CHECK_TOPIC, {"event_id": entry["event_id"]}, now
        )
        return ClaimResult("pending_approval", entry, ticket["payment_id"])
    return ClaimResult("claimed", entry, ticket["payment_id"])


async def back_in_line(conn: Connection, token: str, now: int) -> Row:
    """After a claim found no seat: waiting again, first among those after it (its place in
    line is kept), its invited ticket kept for the next offer."""
    entry = await _entry(conn, token)
    await repository.lock_event(conn, entry["event_id"])
    fresh = await _entry(conn, token)
    if fresh["status"] == "offered":
        await repository.set_status(conn, fresh["id"], "waiting", now)
    return fresh


async def decline(conn: Connection, token: str, now: int) -> Row:
    """The person gives their offer (or place in line) up: it passes to the next person."""
    entry = await _entry(conn, token)
    await repository.lock_event(conn, entry["event_id"])
    await repository.settle_offers(conn, entry["event_id"], now)
    entry = await _entry(conn, token)
    if entry["status"] in ("offered", "waiting"):
        await offers.end_offer(conn, entry["organization_id"], entry, "left", now)
        await offers.offer_seats(conn, entry["organization_id"], entry["event_id"], now)
    return entry


async def view(conn: Connection, token: str) -> Row:
    return await _entry(conn, token)


async def _entry(conn: Connection, token: str) -> Row:
    entry = await repository.by_token(conn, token)
    if entry is None:
        raise errors.NotFound("Offer not found")
    return entry
