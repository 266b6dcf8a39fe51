"""Manual add: the seed's flow, and exactly Create Attendee.

The form calls the service the API calls (``attendee.create``) through the same idempotency
runner (``idempotency.runner.execute``), scoped to the signed-in user instead of an API key.
Each rendered form carries its own key in a hidden input, so a double-clicked submit or a
browser retry issues one batch: the second request gets the stored outcome, or waits for it
while the first is still running. A refused request (a full class, a validation error) shows
the form again with what was typed and a fresh key.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError

from tessera import errors, web
from tessera.attendee import create
from tessera.attendee.schemas import AttendeeCreate
from tessera.dashboard import pages
from tessera.dashboard.access import DashboardRoute, Staff, StaffWrite
from tessera.db import Connection, OneStatement
from tessera.event import service as events
from tessera.idempotency import runner
from tessera.kit import jsonutil
from tessera.question import service as questions
from tessera.ticket_class import service as classes

router = APIRouter(route_class=DashboardRoute)

FIELDS = (
    "ticket_class_id",
    "email",
    "first_name",
    "last_name",
    "phone",
    "quantity",
    "status",
    "payment_method",
)
# How long a second submit waits for the first one's outcome before giving up politely.
WAIT_FOR_FIRST = 10.0


def _new_key() -> str:
    return "dash_" + secrets.token_urlsafe(24)


async def _form_page(
    request: Request,
    viewer: Any,
    event_id: str,
    values: dict[str, Any],
    errors_: dict[str, str],
    message: str = "",
    status: int = 200,
) -> Response:
    async def load(conn: Connection) -> dict[str, Any]:
        event = await events.get_event(conn, viewer.organization_id, event_id)
        listed = await classes.list_ticket_classes(conn, viewer.organization_id, event_id)
        asked = await questions.list_questions(conn, viewer.organization_id, event_id)
        return {"event": event, "classes": listed, "questions": asked}

    data = await web.read(request, load)
    return pages.render(
        request,
        "attendee_new.html",
        status,
        **data,
        values=values,
        errors=errors_,
        message=message,
        idempotency_key=_new_key(),
    )


@router.get("/events/{event_id}/attendees/new")
async def new_attendee_form(request: Request, event_id: str, viewer: Staff) -> Response:
    return await _form_page(
        request, viewer, event_id, {"quantity": "1", "payment_method": "cash"}, {}
    )


def _body(form: pages.Form) -> dict[str, Any]:
    """The form as Create Attendee's JSON body (the API's names and types)."""
    contact: dict[str, Any] = {"email": form.get("email")}
    for name in ("first_name", "last_name", "phone"):
        if form.get(name).strip():
            contact[name] = form.get(name)
    body: dict[str, Any] = {
        "ticket_class_id": form.get("ticket_class_id"),
        "contact": contact,
        "payment_method": form.get("payment_method") or "cash",
        "send_email": form.checked("send_email"),
    }
    quantity = form.get("quantity").strip() or "1"
    body["quantity"] = int(quantity) if quantity.isdigit() and len(quantity) < 6 else quantity
    if form.get("status"):
        body["status"] = form.get("status")
    return body


def _answer_values(form: pages.Form, question_id: str) -> list[str]:
    """A question's field: named by its id (SPEC §8); ``answer_<id>``, the name this form
    used before questions existed, is read too."""
    values = form.getlist(question_id) or form.getlist(f"answer_{question_id}")
    return [v for v in values if v.strip()]


def _raw_answers(form: pages.Form, asked: list[dict[str, Any]], class_id: str) -> dict[str, Any]:
    """What was typed for the questions of the chosen class (others' fields are ignored: the
    form shows every question, and only the chosen class's apply)."""
    raw: dict[str, Any] = {}
    for question in asked:
        if not questions.applies_to(question, class_id):
            continue
        values = _answer_values(form, question["id"])
        if values:
            raw[question["id"]] = values if question["type"] == "multiple_choice" else values[0]
    return raw


async def _answers(
    request: Request, organization_id: str, event_id: str, form: pages.Form, class_id: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """The answers as stored, checked by the question service (``required`` does not bind
    the organizer's manual add), or a message per question id."""

    async def check(conn: Connection) -> dict[str, Any]:
        asked = await questions.list_questions(conn, organization_id, event_id)
        raw = _raw_answers(form, asked, class_id)
        if not raw:
            return {}
        return await questions.validate_answers(
            conn, organization_id, event_id, class_id, raw, enforce_required=False, from_text=True
        )

    try:
        return await web.read(request, check), {}
    except errors.ValidationFailed as failed:
        found: dict[str, list[str]] = (failed.details or {}).get("fieldErrors", {})
        return {}, {
            name.removeprefix("answers."): texts[0] for name, texts in found.items() if texts
        }


def _typed_answers(form: pages.Form) -> dict[str, list[str]]:
    """Every answer field as typed, by question id (to show the form again)."""
    typed: dict[str, list[str]] = {}
    for name, values in form.fields.items():
        if name.startswith("q_"):
            typed[name] = values
        elif name.startswith("answer_q_"):
            typed.setdefault(name.removeprefix("answer_"), values)
    return typed


@router.post("/events/{event_id}/attendees/new")
async def add_attendees(request: Request, event_id: str, viewer: StaffWrite) -> Response:
    form = await pages.form(request)
    values: dict[str, Any] = {name: form.get(name) for name in FIELDS}
    values["send_email"] = form.checked("send_email")
    values["answers"] = _typed_answers(form)
    key = form.get("idempotency_key")
    body = _body(form)
    try:
        parsed = AttendeeCreate.model_validate(body)
    except ValidationError as invalid:
        return await _form_page(
            request,
            viewer,
            event_id,
            values,
            pages.field_errors(invalid),
            "Check the fields below.",
            400,
        )
    answers, answer_errors = await _answers(
        request, viewer.organization_id, event_id, form, parsed.ticket_class_id
    )
    if answer_errors:
        return await _form_page(
            request, viewer, event_id, values, answer_errors, "Check the answers below.", 400
        )
    if answers:
        parsed = parsed.model_copy(update={"answers": answers})
    if not key or len(key) > 255 or any(not 0x21 <= ord(c) <= 0x7E for c in key):
        key = _new_key()  # a hand-made request without a key still runs once
    now = web.now(request)
    organization_id = viewer.organization_id

    async def work(conn: Connection) -> runner.Outcome:
        return runner.Outcome(
            201, await create.create_attendees(conn, organization_id, event_id, parsed, now)
        )

    async def in_one_statement(conn: OneStatement) -> runner.Outcome:
        return runner.Outcome(
            201,
            await create.create_attendees_in_one_statement(
                conn, organization_id, event_id, parsed, now
            ),
        )

    fingerprint = jsonutil.fingerprint("POST", request.url.path, parsed.model_dump(mode="json"))
    # The user stands where the API key stands: keys of two users never meet.
    scope = f"user:{viewer.user_id}"
    db = web.database(request)
    deadline = asyncio.get_running_loop().time() + WAIT_FOR_FIRST
    while True:
        try:
            response = await runner.execute(
                db,
                now,
                scope,
                key,
                fingerprint,
                work,
                in_one_statement=in_one_statement,
                turn=parsed.ticket_class_id,
            )
            break
        except errors.AppError as refused:
            if (
                refused.code == "idempotent_request_in_progress"
                and asyncio.get_running_loop().time() < deadline
            ):
                await asyncio.sleep(0.05)  # the first submit is running: take its outcome
                continue
            message = (
                "This form was already submitted with other values. Review them and submit again."
                if refused.code == "idempotency_key_reused"
                else refused.message
            )
            return await _form_page(request, viewer, event_id, values, {}, message, refused.status)
    outcome = jsonutil.loads(bytes(response.body))
    if response.status_code == 201:
        first = outcome["data"][0]["id"]
        return pages.redirect(
            f"/dashboard/events/{event_id}/attendees/{first}?issued={len(outcome['data'])}"
        )
    if response.status_code == 404 and outcome.get("error") == "Event not found":
        raise errors.event_not_found()
    problems: dict[str, str] = {}
    message = outcome.get("error", "Not added.")
    if outcome.get("code") == "capacity_exceeded":
        remaining = outcome["details"]["remaining"]
        where = "this class" if outcome["details"]["limit"] == "ticket_class" else "the event"
        message = f"Not added: only {remaining} seat(s) left in {where}."
        problems["quantity"] = f"{remaining} seat(s) left"
    elif response.status_code == 404:
        problems["ticket_class_id"] = "Choose one of this event's ticket classes"
    return await _form_page(
        request, viewer, event_id, values, problems, message, response.status_code
    )
