"""Self-registration (SPEC §9): the public rules, then Create Attendee's own service.

Tickets are issued by :func:`tessera.attendee.create.create_attendees` — contact upsert, invited
upgrade, exact capacity, approval — with payment method ``free`` and the confirmation email
always queued. On top of it, the public rules: registration open, the class listed and free
(the payment-provider seam stays in ``tessera.payment.provider``: a priced class is "available
from the organizer" until a card provider exists), its sales window, the per-order minimum and
maximum, and the waitlist's line (seats owed to people in line are not sold to newcomers).
"""

from __future__ import annotations

from typing import Any

from tessera import errors
from tessera.attendee import create
from tessera.attendee.schemas import AttendeeCreate, ContactIn
from tessera.db import Connection
from tessera.errors import CapacityExceeded
from tessera.idempotency import runner
from tessera.public import availability, repository
from tessera.question import service as question_service


def pending_path(event_id: str) -> str:
    return f"/e/{event_id}/pending"


async def register(
    conn: Connection, event_id: str, values: dict[str, Any], now: int
) -> runner.Outcome:
    """Issue the tickets of one form post in the caller's transaction; 303 to where to go next.

    The class is read again inside the transaction (what the form was checked against may have
    changed): a class no longer listed is 404, and too few seats left for the public is 409
    ``capacity_exceeded``, as the create's own exact check is."""
    state = await repository.class_state(conn, event_id, values["ticket_class_id"])
    if state is None:
        raise errors.ticket_class_not_found()
    if state["registration_status"] != "open":
        raise errors.Conflict("Registration is closed", code="registration_closed")
    left, limit = availability.seats_left(state)
    if left < values["quantity"]:
        raise CapacityExceeded(left, limit)
    # The answers again, in this transaction, against the questions as they are now (the form
    # was checked against a read that may be stale): required binds on the public form.
    answers = await question_service.validate_answers(
        conn,
        state["organization_id"],
        event_id,
        values["ticket_class_id"],
        values.get("answers") or {},
        enforce_required=True,
        from_text=True,
    )
    body = AttendeeCreate(
        ticket_class_id=values["ticket_class_id"],
        contact=ContactIn(
            email=values["email"],
            first_name=values["first_name"],
            last_name=values["last_name"],
        ),
        quantity=values["quantity"],
        payment_method="free",  # the only public method until a card provider exists
        send_email=True,
        answers=answers,
    )
    result = await create.create_attendees(conn, state["organization_id"], event_id, body, now)
    status = result["data"][0]["status"]
    payment_id = result["payment_id"]
    location = pending_path(event_id) if status == "pending_approval" else f"/t/{payment_id}"
    return runner.Outcome(303, {"payment_id": payment_id, "status": status}, {"location": location})
