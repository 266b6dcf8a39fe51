"""Offering freed seats to the people waiting, and ending offers that expired.

Runs in the outbox worker's transaction for a ``waitlist.check`` row (a seat may have freed) or
a ``waitlist.expiry`` row (an offer's time is up), holding the event row's lock, so offers of
one event are decided one at a time across every process.

The rule is stated over what the database holds, not over the rows that triggered it: each
class offers as many seats as are free in it and in the event, less the offers still open.
Running it twice, or once per freed seat, or after a crash half-way, gives the same offers:
exactly one offer per free seat, always to the first people in line.
"""

from __future__ import annotations

import secrets
from typing import Any

from tessera.attendee import create, transitions
from tessera.attendee import repository as tickets
from tessera.attendee.schemas import AttendeeCreate, ContactIn
from tessera.db import Connection, Row
from tessera.waitlist import repository
from tessera.waitlist.triggers import KIND

EMAIL_KIND = "waitlist_email"
EXPIRY_TOPIC = "waitlist.expiry"
OFFER_EMAIL = "waitlist.offer"
EXPIRED_EMAIL = "waitlist.expired"
JOINED_EMAIL = "waitlist.joined"
HOUR = 3600 * 1_000_000
UNLIMITED = 10**9


def is_open(event: Row) -> bool:
    """Whether the event takes attendees through public flows (the waitlist is one)."""
    return bool(event["status"] == "active" and event["registration_status"] == "open")


def _room(total: int, taken: int) -> int:
    return UNLIMITED if total == 0 else total - taken


async def offer_seats(conn: Connection, organization_id: str, event_id: str, now: int) -> int:
    """Offer every seat that is free and not yet offered; returns how many offers were made."""
    event = await repository.lock_event(conn, event_id)
    if event is None or event["organization_id"] != organization_id:
        return 0
    await repository.settle_offers(conn, event_id, now)
    if not is_open(event):
        return 0  # no public flow takes anyone in while registration is closed
    event_room = _room(event["capacity"], event["tickets_sold"])
    event_room -= await repository.offered_in_event(conn, event_id)
    made = 0
    hours = await repository.offer_hours(conn, event_id)
    for tc in await repository.classes_waiting(conn, event_id):
        count = min(_room(tc["quantity_total"], tc["quantity_sold"]) - tc["offered"], event_room)
        if count <= 0:
            continue
        for entry in await repository.first_waiting(conn, tc["id"], count):
            await _offer(conn, organization_id, entry, hours, now)
            made += 1
            event_room -= 1
    return made


async def _offer(conn: Connection, organization_id: str, entry: Row, hours: int, now: int) -> None:
    """An invited ticket (no seat held) for the person, a claim link, an email, an expiry."""
    ticket_id = None
    if entry["attendee_id"] is not None:  # back in line after a claim found no seat
        held = await tickets.get(
            conn, organization_id, entry["event_id"], entry["attendee_id"], lock=True
        )
        if held is not None and held["status"] == "invited":
            ticket_id = held["id"]
    if ticket_id is None:
        body = AttendeeCreate(
            ticket_class_id=entry["ticket_class_id"],
            contact=ContactIn(
                email=entry["email"], first_name=entry["first_name"], last_name=entry["last_name"]
            ),
            quantity=1,
            status="invited",
            payment_method="free",
        )
        issued = await create.create_attendees(conn, organization_id, entry["event_id"], body, now)
        ticket_id = issued["data"][0]["id"]
    expires_at = now + hours * HOUR
    token = entry["claim_token"] or secrets.token_urlsafe(24)
    await repository.mark_offered(
        conn, entry["id"], attendee_id=ticket_id, token=token, expires_at=expires_at, now=now
    )
    payload = {"entry_id": entry["id"], "offered_at": now}
    await repository.enqueue_at(conn, organization_id, EMAIL_KIND, OFFER_EMAIL, payload, now, now)
    await repository.enqueue_at(conn, organization_id, KIND, EXPIRY_TOPIC, payload, expires_at, now)


async def expire(conn: Connection, organization_id: str, payload: dict[str, Any], now: int) -> int:
    """End one offer whose time is up (unless it was claimed, declined or made anew since) and
    pass its seat on. Returns microseconds still to wait when it is not due yet, else 0."""
    entry = await repository.get(conn, payload["entry_id"])
    if entry is None or entry["organization_id"] != organization_id:
        return 0
    await repository.lock_event(conn, entry["event_id"])
    await repository.settle_offers(conn, entry["event_id"], now)
    entry = await repository.get(conn, payload["entry_id"])
    if (
        entry is None
        or entry["status"] != "offered"
        or entry["offered_at"] != payload["offered_at"]
    ):
        return 0
    if entry["offer_expires_at"] > now:
        return int(entry["offer_expires_at"] - now)
    await end_offer(conn, organization_id, entry, "expired", now)
    await repository.enqueue_at(
        conn, organization_id, EMAIL_KIND, EXPIRED_EMAIL, {"entry_id": entry["id"]}, now, now
    )
    await offer_seats(conn, organization_id, entry["event_id"], now)
    return 0


async def end_offer(
    conn: Connection, organization_id: str, entry: Row, status: str, now: int
) -> None:
    """The entry becomes ``status`` (expired, left) and its invited ticket is deleted."""
    await repository.set_status(conn, entry["id"], status, now)
    if entry["attendee_id"] is None:
        return
    held = await tickets.get(
        conn, organization_id, entry["event_id"], entry["attendee_id"], lock=True
    )
    if held is not None and held["status"] == "invited":
        await transitions.change_status(conn, organization_id, held, "deleted", now)
