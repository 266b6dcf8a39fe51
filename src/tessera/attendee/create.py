"""Create Attendee: the organizer's manual add (SPEC §3.3), in one transaction.

Sales windows, per-order limits and ``registration_status`` do not bind this endpoint; they
bind public flows. Capacity always binds.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tessera import errors
from tessera.attendee import repository, seats
from tessera.attendee.presenter import present
from tessera.attendee.schemas import AttendeeCreate
from tessera.contact import repository as contacts
from tessera.db import Connection
from tessera.kit import ids, money
from tessera.outbox import repository as outbox
from tessera.payment import repository as payments
from tessera.payment import service as payment_service
from tessera.payment.provider import Charge, provider_for
from tessera.webhook.emit import Item, emit

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
    status = body.status
    if status is None:
        approval = claimed["require_approval"] or claimed["event_requires_approval"]
        status = "pending_approval" if approval else "valid"
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
    """
    class_id = body.ticket_class_id
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
        {**shared, "id": row["id"], "barcode": row["barcode"], "created_at": row["created_at"]}
        for row in upgraded
    ] + created
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
    items: list[Item] = [
        ("attendee.updated" if n < len(upgraded) else "attendee.created", attendee["id"], attendee)
        for n, attendee in enumerate(attendees)
    ]
    if payment["status"] == "succeeded":
        # The payment as GET /payments/{id} shows it (ticket_ids oldest first), with no query.
        ticket_ids = [t["id"] for t in sorted(issued, key=lambda t: (t["created_at"], t["id"]))]
        shown = {**payment, "updated_at": now, "customer_email": contact["email"]}
        items.append(("payment.succeeded", payment_id, payment_service.present(shown, ticket_ids)))
    await emit(conn, organization_id, items, now)
    return {
        "data": attendees,
        "payment_id": payment["id"],
        "quantity": len(created),
    }
