"""Create Attendee: the organizer's manual add (SPEC §3.3), in one transaction.

Sales windows, per-order limits and ``registration_status`` do not bind this endpoint; they
bind public flows. Capacity always binds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from tessera import errors
from tessera.attendee import history, remembered, repository, seats
from tessera.attendee.presenter import present
from tessera.attendee.schemas import AttendeeCreate
from tessera.contact import repository as contacts
from tessera.db import Connection, OneStatement, Stale
from tessera.kit import ids, jsonutil, money
from tessera.metrics import record
from tessera.outbox import repository as outbox
from tessera.payment import repository as payments
from tessera.payment import service as payment_service
from tessera.payment.provider import MANUAL_METHODS, Charge, provider_for
from tessera.question import repository as questions
from tessera.question import service as question_service
from tessera.webhook.emit import Item, emit, expect_none_enabled

CONFIRMATION_TOPIC = "attendee.confirmation"


async def _claim_seats(
    conn: Connection, organization_id: str, event_id: str, body: AttendeeCreate
) -> tuple[Any, str]:
    """Find the class and take the seats first: the capacity rows are the contended ones, and
    failing here has written nothing. Returns the class row and the tickets' status."""
    if body.status is not None and body.status not in repository.SEAT_STATUSES:
        found = await repository.event_and_class(
            conn, organization_id, event_id, body.ticket_class_id
        )
        if found is None:
            raise errors.event_not_found()
        if found["class_id"] is None:
            raise errors.ticket_class_not_found()
        return found, body.status
    claimed = await repository.claim_class_for_create(
        conn,
        organization_id,
        event_id,
        body.ticket_class_id,
        body.quantity,
        status_given=body.status is not None,
    )
    if claimed is None:  # tell the three reasons apart, in the documented order
        found = await repository.event_and_class(
            conn, organization_id, event_id, body.ticket_class_id
        )
        if found is None:
            raise errors.event_not_found()
        if found["class_id"] is None:
            raise errors.ticket_class_not_found()
        raise await seats.class_full(conn, body.ticket_class_id)
    status = body.status or _default_status(
        claimed["require_approval"], claimed["event_requires_approval"]
    )
    if claimed["seats"]:
        if claimed["event_claimed"] is None:  # SQLite: not taken by the claim itself
            await seats.take_event(conn, event_id, claimed["seats"])
        elif not claimed["event_claimed"]:
            raise await seats.event_full(conn, event_id)
    return claimed, status


async def create_attendees(
    conn: Connection, organization_id: str, event_id: str, body: AttendeeCreate, now: int
) -> dict[str, Any]:
    """Issue ``quantity`` tickets to a contact, upgrading their invited tickets first.

    1. The event, then the class (an active class of this event) must exist: 404 otherwise.
    2. Tickets entering ``valid``/``checked_in`` take seats in the class and the event, or
       nothing is written and the answer is 409 ``capacity_exceeded``.
    3. The contact is upserted by email; up to ``quantity`` of its invited tickets on this
       event (oldest first) are upgraded to the requested status and class.
    4. One payment groups every ticket of the request.
    5. Answers, when given, fit the event's questions for the class (400 otherwise; checked
       after the 404s and before capacity). ``required`` does not bind this manual add.
    """
    answers = None
    if body.answers:  # only then: a create without answers costs no statement more
        found = await repository.event_and_class(
            conn, organization_id, event_id, body.ticket_class_id
        )
        if found is None:
            raise errors.event_not_found()
        if found["class_id"] is None:
            raise errors.ticket_class_not_found()
        answers = await _checked_answers(conn, organization_id, event_id, body)
    found, status = await _claim_seats(conn, organization_id, event_id, body)

    new_contact_id = ids.contact_id()
    contact = await contacts.upsert(
        conn,
        organization_id,
        new_id=new_contact_id,
        email=body.contact.email,
        first_name=body.contact.first_name,
        last_name=body.contact.last_name,
        phone=body.contact.phone,
        now=now,
    )
    upgraded: list[Any] = []
    if status != "invited" and contact["id"] != new_contact_id:  # a new contact has no tickets
        upgraded = await repository.invited_of_contact(conn, event_id, contact["id"], body.quantity)
    return await _issue(
        conn, organization_id, event_id, body, now, found, status, contact, upgraded, answers
    )


async def _checked_answers(
    conn: Connection, organization_id: str, event_id: str, body: AttendeeCreate
) -> str | None:
    """The request's answers as stored (JSON text), once the event and class are known."""
    rows = await questions.live(conn, organization_id, event_id)
    cleaned = question_service.check_answers(
        [question_service.present(row) for row in rows],
        body.ticket_class_id,
        body.answers,
        enforce_required=False,
    )
    return jsonutil.dumps(cleaned).decode() if cleaned else None


async def create_attendees_in_one_statement(
    conn: OneStatement, organization_id: str, event_id: str, body: AttendeeCreate, now: int
) -> dict[str, Any]:
    """The same create as :func:`create_attendees`, sent as one statement (PostgreSQL).

    It reads the event, the class and the contact first, decides everything from what it read,
    and then writes with expectations that what it read still holds: the class unchanged and
    with room, the event unchanged and with room, the contact unchanged (or still absent),
    still no invited ticket to upgrade. Anything else raises :class:`~tessera.db.Stale`
    and writes nothing: unknown event or class, no room, invited tickets to upgrade, or a change
    between the read and the write. :func:`create_attendees` then decides, in a transaction.

    What the read found is remembered (``tessera.attendee.remembered``) when it leads to a new
    contact's create, and forgotten otherwise: :func:`create_attendees_from_memory` then
    spares the next create of the class its read.
    """
    if body.payment_method not in MANUAL_METHODS:
        raise Stale("a charge that does I/O must not be repeated by the transaction")
    class_id = body.ticket_class_id
    remembered.forget(organization_id, event_id, class_id)
    state = await repository.create_state(
        conn, organization_id, event_id, class_id, body.contact.email
    )
    if state is None or state["class_id"] is None:
        raise Stale("not found: the transaction answers")
    answers = None
    if body.answers:
        answers = await _checked_answers(conn, organization_id, event_id, body)
    status = body.status or _default_status(
        state["require_approval"], state["event_requires_approval"]
    )
    seats = body.quantity if status in repository.SEAT_STATUSES else 0
    if seats and not _seats_left(state, seats):
        raise Stale("no room: the transaction answers, with the seats that remain")
    existing = state["contact_id"] is not None
    if existing and status != "invited" and state["has_invited"]:
        raise Stale("invited tickets to upgrade: the transaction locks them")
    if not existing:
        remembered.remember(organization_id, event_id, state, now)
    return await _write_in_one_statement(
        conn, organization_id, event_id, body, now, state, status, seats, answers, existing
    )


async def create_attendees_from_memory(
    conn: OneStatement, organization_id: str, event_id: str, body: AttendeeCreate, now: int
) -> dict[str, Any]:
    """:func:`create_attendees_in_one_statement` without its read, from what an earlier read
    of the class found (``tessera.attendee.remembered``), for a contact taken to be new.

    The statement's expectations are the same as after a read: the class and the event as
    remembered and with room, no enabled webhook endpoint if none was seen, the contact still
    absent (an existing one meets the unique key). Whatever does not hold makes it stale, and
    :func:`one_statement_versions` reads afresh. Raises :class:`~tessera.db.Stale` at once,
    sending nothing, when nothing fresh is remembered."""
    if body.payment_method not in MANUAL_METHODS or body.answers:
        raise Stale("only a create that needs no other read is sent from memory")
    state = remembered.recall(organization_id, event_id, body.ticket_class_id, now)
    if state is None:
        raise Stale("nothing remembered of the class: read it")
    status = body.status or _default_status(
        state["require_approval"], state["event_requires_approval"]
    )
    seats = body.quantity if status in repository.SEAT_STATUSES else 0
    return await _write_in_one_statement(
        conn, organization_id, event_id, body, now, state, status, seats, None, existing=False
    )


async def _write_in_one_statement(
    conn: OneStatement,
    organization_id: str,
    event_id: str,
    body: AttendeeCreate,
    now: int,
    state: Any,
    status: str,
    seats: int,
    answers: str | None,
    existing: bool,
) -> dict[str, Any]:
    """Queue a one-statement create's writes and expectations, decided from ``state``: what
    ``create_state`` read, or what is remembered of it (then ``existing`` is False: the
    contact is taken to be new)."""
    await repository.expect_class(conn, organization_id, event_id, state, seats)
    await repository.expect_event(conn, organization_id, event_id, state, seats)
    given = body.contact
    if existing:
        contact = await contacts.expect_update(
            conn,
            organization_id,
            state,
            email=given.email,
            first_name=given.first_name,
            last_name=given.last_name,
            phone=given.phone,
            now=now,
        )
        if status != "invited":
            await repository.expect_no_invited(conn, event_id, state["contact_id"])
    else:
        contact = await contacts.expect_insert(
            conn,
            organization_id,
            new_id=ids.contact_id(),
            email=given.email,
            first_name=given.first_name,
            last_name=given.last_name,
            phone=given.phone,
            now=now,
        )
    webhooks = bool(state["webhooks"])
    if not webhooks:
        await expect_none_enabled(conn, organization_id)
    return await _issue(
        conn, organization_id, event_id, body, now, state, status, contact, [], answers, webhooks
    )


OneStatementCreate = Callable[
    [OneStatement, str, str, AttendeeCreate, int], Awaitable[dict[str, Any]]
]


def one_statement_versions(
    organization_id: str, event_id: str, body: AttendeeCreate, now: int
) -> list[OneStatementCreate]:
    """The one-statement creates to try in order before the transaction: from memory when the
    class is remembered (no read), then after a read. When the first is stale, the second
    reads afresh, and remembers or forgets what it found."""
    if remembered.recall(organization_id, event_id, body.ticket_class_id, now) is None:
        return [create_attendees_in_one_statement]
    return [create_attendees_from_memory, create_attendees_in_one_statement]


def _default_status(class_requires_approval: bool, event_requires_approval: bool) -> str:
    return "pending_approval" if class_requires_approval or event_requires_approval else "valid"


def _seats_left(state: Any, seats: int) -> bool:
    """Whether the class and the event, as read, have room for ``seats`` more."""
    total: int = state["quantity_total"]
    capacity: int = state["capacity"]
    return (total == 0 or state["quantity_sold"] + seats <= total) and (
        capacity == 0 or state["tickets_sold"] + seats <= capacity
    )


async def _issue(
    conn: Connection,
    organization_id: str,
    event_id: str,
    body: AttendeeCreate,
    now: int,
    found: Any,
    status: str,
    contact: Any,
    upgraded: list[Any],
    answers: str | None = None,
    webhooks: bool = True,
) -> dict[str, Any]:
    """The payment, the tickets (upgraded and new), the confirmation email and the webhook
    events (unless ``webhooks`` is False: no enabled endpoint, and the caller made sure of it
    with :func:`~tessera.webhook.emit.expect_none_enabled`), once the seats are taken and the
    contact is known; returns the response body.
    ``found`` is the class (``name``, ``cost``, ``currency``); ``contact`` the contact as it
    now is (``id``, ``email``, ``first_name``, ``last_name``)."""
    class_id = body.ticket_class_id
    currency: str = found["currency"]
    unit = Decimal(found["cost"]) if body.payment_method != "free" else Decimal(0)
    payment_id = ids.payment_id()
    amount = unit * body.quantity
    # The manual methods (cash, free, external) settle outside Tessera and do no I/O, so the
    # charge is recorded inside this transaction. A card provider would be called before it.
    charged = await provider_for(body.payment_method).charge(
        Charge(payment_id, body.payment_method, currency, amount)
    )
    payment = {
        "id": payment_id,
        "event_id": event_id,
        "ticket_class_id": class_id,
        "contact_id": contact["id"],
        "status": charged.status,
        "method": body.payment_method,
        "provider": charged.provider,
        "currency": currency,
        "amount": money.format_amount(amount, currency),
        "quantity": body.quantity,
        "created_at": now,
    }
    await payments.insert(conn, organization_id, payment)

    checked_in_at = now if status == "checked_in" else None
    if upgraded:
        await repository.upgrade(
            conn,
            [row["id"] for row in upgraded],
            status=status,
            class_id=class_id,
            payment_id=payment["id"],
            payment_method=body.payment_method,
            checked_in_at=checked_in_at,
            now=now,
            answers=answers,
        )
        await history.record(
            conn, organization_id, [(row["id"], "invited", status) for row in upgraded], now
        )
    shared = {
        "organization_id": organization_id,
        "event_id": event_id,
        "ticket_class_id": class_id,
        "contact_id": contact["id"],
        "payment_id": payment["id"],
        "status": status,
        "payment_method": body.payment_method,
        "checked_in_at": checked_in_at,
        "updated_at": now,
        "answers": answers,
        # for the response
        "ticket_class_name": found["name"],
        "first_name": contact["first_name"],
        "last_name": contact["last_name"],
        "email": contact["email"],
    }
    created = [
        {**shared, "id": ids.ticket_id(), "barcode": ids.barcode(), "created_at": now}
        for _ in range(body.quantity - len(upgraded))
    ]
    if created:
        await repository.insert_many(conn, created)

    issued = [
        {
            **shared,
            "id": row["id"],
            "barcode": row["barcode"],
            "created_at": row["created_at"],
            "answers": answers if answers is not None else row["answers"],
        }
        for row in upgraded
    ] + created
    record.tickets_issued(conn, len(issued))
    if body.send_email:
        await outbox.enqueue(
            conn,
            organization_id,
            "email",
            CONFIRMATION_TOPIC,
            {
                "event_id": event_id,
                "payment_id": payment["id"],
                "contact_id": contact["id"],
                "ticket_ids": [ticket["id"] for ticket in issued],
            },
            now,
        )
    attendees = [present(ticket) for ticket in issued]
    if webhooks:  # else no payload is built: nothing would carry it
        items: list[Item] = [
            (
                "attendee.updated" if n < len(upgraded) else "attendee.created",
                attendee["id"],
                attendee,
            )
            for n, attendee in enumerate(attendees)
        ]
        if payment["status"] == "succeeded":
            # The payment as GET /payments/{id} shows it (ticket_ids oldest first), no query.
            ticket_ids = [t["id"] for t in sorted(issued, key=lambda t: (t["created_at"], t["id"]))]
            shown = {**payment, "updated_at": now, "customer_email": contact["email"]}
            items.append(
                ("payment.succeeded", payment_id, payment_service.present(shown, ticket_ids))
            )
        await emit(conn, organization_id, items, now)
    return {
        "data": attendees,
        "payment_id": payment["id"],
        "quantity": len(created),
    }
