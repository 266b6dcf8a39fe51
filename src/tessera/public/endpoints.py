"""``/e/{eventId}``: the public event page, its calendar file, and self-registration (HTML).

No login: the event's ID is its public address. The form works without JavaScript; every POST
is checked in this order: rate limit, event, CSRF token, honeypot, fields, then the tickets are
issued in one transaction (see :mod:`tessera.public.register`).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from pathlib import Path
from types import MappingProxyType
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, HTMLResponse

from tessera import web
from tessera.auth.service import Principal
from tessera.db import Connection, Row
from tessera.errors import AppError, ValidationFailed
from tessera.fast_path import PARSED_BODY, fast_path
from tessera.idempotency import runner
from tessera.kit import jsonutil
from tessera.public import (
    cache,
    csrf,
    form,
    limits,
    page,
    register,
    render,
    repository,
    responses,
)
from tessera.public.render import FormView
from tessera.ticket_page import calendar

router = APIRouter(tags=["public event page"], include_in_schema=False)

STATIC = Path(__file__).parent / "static"
IN_PROGRESS_WAIT = 0.05  # seconds between looks at a double submit's first request
IN_PROGRESS_TRIES = 100


def _file_name(event_name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", event_name).strip("-").lower()[:60].strip("-")
    return f"{slug or 'event'}.ics"


@router.get("/e/static/localtime.js")
async def local_time_script() -> Response:
    return FileResponse(
        STATIC / "localtime.js",
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


async def render_page(
    request: Request,
    shown: page.PublicEvent,
    *,
    status: int = 200,
    main: FormView | None = None,
    waitlist_class: str | None = None,
    waitlist: FormView | None = None,
) -> Response:
    """The event page with fresh form tokens; ``main``/``waitlist`` keep what was typed."""
    key = await csrf.server_key(request)
    browser = csrf.browser_id(request) or csrf.new_browser_id()
    base_url = request.app.state.settings.base_url
    if main is None and waitlist is None:
        # The page as everyone first sees it: rendered once per state of the event, with
        # placeholders where each rendering's own form tokens go.
        content = cache.page(shown, base_url, lambda: _render_blank(shown, base_url))
        for placeholder in cache.placeholders(len(shown.waitlisted) + 1):
            content = content.replace(placeholder, csrf.issue(key, browser, shown.id), 1)
    else:
        token = csrf.issue(key, browser, shown.id)
        main = main or _blank_form(shown, token)
        main.csrf_token = token
        forms: dict[str, FormView] = {}
        for tc in shown.waitlisted:
            if tc.id == waitlist_class and waitlist is not None:
                waitlist.csrf_token = csrf.issue(key, browser, shown.id)
                forms[tc.id] = waitlist
            else:
                forms[tc.id] = FormView(csrf.issue(key, browser, shown.id), prefix=f"wl-{tc.id}-")
        content = render.event_page(shown, base_url, main, forms, shown.questions)
    response = responses.html(content, status)
    responses.set_browser_cookie(request, response, browser)
    return response


def _blank_form(shown: page.PublicEvent, token: str) -> FormView:
    first = shown.registrable[0] if shown.registrable else None
    return FormView(token, {"quantity": str(first.minimum if first else 1)})


def _render_blank(shown: page.PublicEvent, base_url: str) -> str:
    tokens = cache.placeholders(len(shown.waitlisted) + 1)
    forms = {
        tc.id: FormView(tokens[n + 1], prefix=f"wl-{tc.id}-")
        for n, tc in enumerate(shown.waitlisted)
    }
    return render.event_page(shown, base_url, _blank_form(shown, tokens[0]), forms, shown.questions)


async def load_page(request: Request, event_id: str) -> page.PublicEvent | None:
    now = web.now(request)
    return await web.read(request, lambda conn: page.load(conn, event_id, now))


@router.get("/e/{event_id}", response_class=HTMLResponse)
@fast_path
async def event_page(event_id: str, request: Request) -> Response:
    """An active, listed event: its time, place, classes and the registration form."""
    shown = await load_page(request, event_id)
    if shown is None:
        return responses.not_found()
    return await render_page(request, shown)


@router.get("/e/{event_id}/event.ics")
async def event_calendar(event_id: str, request: Request) -> Response:
    shown = await load_page(request, event_id)
    if shown is None:
        return responses.not_found()
    base_url = request.app.state.settings.base_url
    url = f"{base_url}/e/{shown.id}"
    host = url.split("/")[2].split(":")[0]
    content = calendar.event_ics(shown.event, f"{shown.id}@{host}", url, url, web.now(request))
    return Response(
        content,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{_file_name(shown.event.name)}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/e/{event_id}/pending", response_class=HTMLResponse)
async def pending(event_id: str, request: Request) -> Response:
    """Where a registration that awaits the organizer's approval lands."""
    shown = await load_page(request, event_id)
    if shown is None:
        return responses.not_found()
    content = render.message(
        "Thanks! Your registration is waiting for approval",
        [
            "The organizer approves registrations for this event. We've emailed you a link to "
            "your ticket page; your QR code appears there once you're approved.",
        ],
        event=shown.event,
        link=("Back to the event", f"/e/{shown.id}"),
        outcome="pending_approval",
    )
    return responses.html(content)


def too_many(decision: Any) -> Response:
    retry = max(1, int(decision.retry_after + 0.999))
    content = render.message(
        "Too many attempts",
        [f"Please wait {retry} seconds and try again."],
        outcome="rate_limited",
    )
    return responses.html(content, 429, private=True, headers={"Retry-After": str(retry)})


async def read_post(request: Request) -> form.Posted | Response:
    """The rate limit, then the posted form (or the response that refuses it)."""
    decision = await limits.check(request)
    if decision is not None and not decision.allowed:
        return too_many(decision)
    try:
        return await form.read(request)
    except form.TooLarge:
        return responses.too_large()


async def checked_post(
    request: Request, event_id: str, posted: form.Posted
) -> tuple[page.PublicEvent, str] | Response:
    """The common gate of the form posts: a listed event and a valid CSRF token. Returns the
    page and the token's nonce, or the response to send."""
    shown = await load_page(request, event_id)
    if shown is None:
        return responses.not_found()
    key = await csrf.server_key(request)
    nonce = csrf.verify(key, csrf.browser_id(request), posted.get("csrf_token"), shown.id)
    if nonce is None:
        view = FormView(
            "",
            _typed(posted),
            message="This form had expired or came from elsewhere. Please check it and submit "
            "it again.",
            answers=_typed_answers(posted, shown.questions),
        )
        return await render_page(request, shown, status=403, main=view)
    return shown, nonce


def _typed(posted: form.Posted) -> dict[str, str]:
    names = ("ticket_class_id", "quantity", "first_name", "last_name", "email")
    return {name: posted.get(name) for name in names}


def _typed_answers(posted: form.Posted, questions: list[form.Question]) -> dict[str, list[str]]:
    """What was typed for each question (every value: multiple choice repeats its field)."""
    return {q.id: posted.all(q.id) for q in questions if posted.all(q.id)}


def _class_error(chosen: page.ClassView | None) -> str | None:
    if chosen is None:
        return "Choose a ticket."
    state = chosen.availability.state
    if state == "organizer":
        return "This ticket is available from the organizer."
    if state == "not_yet":
        starts = chosen.availability.label.removeprefix("Not on sale yet. ")
        return f"This ticket is not on sale yet. {starts}."
    if state == "ended":
        return "Sales for this ticket have ended."
    return None


def idempotency_key(nonce: str, fingerprint_body: dict[str, Any]) -> str:
    """One key per rendering of the form and what was typed in it: a double submit of the same
    form executes once; a different registration from the same page is its own request."""
    digest = hashlib.sha256(nonce.encode() + b"|" + jsonutil.dumps(fingerprint_body)).hexdigest()
    return f"form:{digest}"


@router.post("/e/{event_id}/register", response_class=HTMLResponse)
@fast_path
async def register_attendees(event_id: str, request: Request) -> Response:
    """Register from the public form: ``303`` to the ticket page (or to the approval page)."""
    posted = await read_post(request)
    if isinstance(posted, Response):
        return posted
    issued = await _register_directly(request, event_id, posted)
    if issued is not None:
        return issued
    gate = await checked_post(request, event_id, posted)
    if isinstance(gate, Response):
        return gate
    shown, nonce = gate
    if posted.get("website"):
        # A bot filled the honeypot: nothing is written, and it is answered like a success.
        return responses.see_other(register.pending_path(shown.id))
    typed = _typed(posted)
    typed_answers = _typed_answers(posted, shown.questions)
    if not shown.registration_open:
        view = FormView("", typed, message="Registration is closed.", answers=typed_answers)
        return await render_page(request, shown, status=409, main=view)
    chosen = shown.find(typed["ticket_class_id"])
    checked, values = _check(posted, chosen, shown.questions)
    if values is not None:
        # Even when the page reads "Sold out": the runner replays a double submit's stored
        # answer (the second click of a post that took the last seat), and anything new meets
        # the exact capacity check there and is answered with the sold-out form.
        return await _issue(request, shown.id, shown.organization_id, values, nonce, posted)
    if chosen is not None and chosen.availability.state == "sold_out":
        view = _sold_out(typed, 0)
        view.answers = typed_answers
        return await render_page(request, shown, status=409, main=view)
    view = FormView("", typed, checked.errors, answers=typed_answers)
    return await render_page(request, shown, status=400, main=view)


async def _register_directly(
    request: Request, event_id: str, posted: form.Posted
) -> Response | None:
    """The common case in one read (the chosen class with its event), without the whole page:
    a valid token, no honeypot, registration open, the class on sale with seats, every field
    right. Anything else returns None, and the page-based path answers with the form."""
    class_id = posted.get("ticket_class_id")
    if not class_id or posted.get("website"):
        return None
    key = await csrf.server_key(request)
    nonce = csrf.verify(key, csrf.browser_id(request), posted.get("csrf_token"), event_id)
    if nonce is None:
        return None
    now = web.now(request)

    async def read(conn: Connection) -> tuple[Row | None, list[form.Question]]:
        state = await repository.class_state(conn, event_id, class_id)
        if state is None:
            return None, []
        return state, await form.questions_for(conn, state["organization_id"], event_id, class_id)

    state, questions = await web.read(request, read)
    if state is None or not page.is_public(state) or state["registration_status"] != "open":
        return None
    chosen = page.class_view(state, now, state["start_timezone"])
    _, values = _check(posted, chosen, questions)  # sold out too: see register_attendees
    if values is None:
        return None
    return await _issue(request, event_id, state["organization_id"], values, nonce, posted)


def _check(
    posted: form.Posted, chosen: page.ClassView | None, questions: list[form.Question]
) -> tuple[form.Checked, dict[str, Any] | None]:
    """The form's fields against the chosen class; the values to register, or None."""
    checked = form.Checked()
    class_error = _class_error(chosen)
    if class_error is not None:
        checked.errors["ticket_class_id"] = class_error
    form.check_person(posted, checked)
    if chosen is not None:
        form.check_quantity(posted, chosen.minimum, chosen.maximum, checked)
    answers = form.check_answers(questions, chosen.id if chosen else None, posted, checked)
    if checked.errors or chosen is None:
        return checked, None
    return checked, {**checked.values, "ticket_class_id": chosen.id, "answers": answers}


def _sold_out(typed: dict[str, str], remaining: int) -> FormView:
    if remaining <= 0:
        return FormView("", typed, {"ticket_class_id": "Sold out."}, message="Sold out.")
    return FormView(
        "",
        typed,
        {"quantity": f"Only {remaining} left."},
        message=f"Only {remaining} left: choose fewer tickets.",
    )


async def _issue(
    request: Request,
    event_id: str,
    organization_id: str,
    values: dict[str, Any],
    nonce: str,
    posted: form.Posted,
) -> Response:
    """Run the registration through the idempotency runner, then answer the browser."""
    setattr(request.state, PARSED_BODY, values)  # what the runner fingerprints
    key = idempotency_key(nonce, values)
    principal = Principal(f"public:{event_id}", organization_id, MappingProxyType({}))
    now = web.now(request)

    async def work(conn: Any) -> runner.Outcome:
        return await register.register(conn, event_id, values, now)

    for _ in range(IN_PROGRESS_TRIES):
        try:
            outcome = await runner.run(
                request, principal, work, key=key, turn=values["ticket_class_id"]
            )
            break
        except ValidationFailed as failed:
            # The answers, checked again in the transaction, no longer fit (a question changed
            # since the page was read): the form again, the message beside each question.
            return await _answers_refused(request, event_id, posted, failed)
        except AppError as error:
            if error.code != "idempotent_request_in_progress":
                raise
            await asyncio.sleep(IN_PROGRESS_WAIT)  # the first submit is still running
    else:
        return responses.html(
            render.message("Still working on it", ["Please reload this page in a moment."]),
            503,
            headers={"Retry-After": "1"},
        )
    if outcome.status_code == 303:
        return responses.see_other(outcome.headers["location"])
    return await _refused(request, event_id, outcome, posted)


async def _answers_refused(
    request: Request, event_id: str, posted: form.Posted, failed: ValidationFailed
) -> Response:
    fresh = await load_page(request, event_id)
    if fresh is None:
        return responses.not_found()
    typed_answers = _typed_answers(posted, fresh.questions)
    view = FormView("", _typed(posted), form.answer_errors(failed), answers=typed_answers)
    return await render_page(request, fresh, status=400, main=view)


async def _refused(
    request: Request, event_id: str, outcome: Response, posted: form.Posted
) -> Response:
    """A stored business refusal (404 class, 409 capacity or closed) as the form again."""
    body = jsonutil.loads(bytes(outcome.body))
    fresh = await load_page(request, event_id)
    if fresh is None:
        return responses.not_found()
    typed = _typed(posted)
    if body.get("code") == "capacity_exceeded":
        remaining = int(body.get("details", {}).get("remaining", 0))
        view = _sold_out(typed, remaining)
    elif body.get("code") == "registration_closed":
        view = FormView("", typed, message="Registration is closed.")
    else:
        view = FormView("", typed, {"ticket_class_id": "This ticket is no longer available."})
    view.answers = _typed_answers(posted, fresh.questions)
    return await render_page(request, fresh, status=outcome.status_code, main=view)
