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
from tessera.errors import AppError
from tessera.fast_path import PARSED_BODY, fast_path
from tessera.idempotency import runner
from tessera.kit import jsonutil
from tessera.public import cache, csrf, form, limits, page, register, render, responses
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


async def checked_post(
    request: Request, event_id: str
) -> tuple[page.PublicEvent, form.Posted, str] | Response:
    """The common gate of the form posts: rate limit, a listed event, a valid CSRF token.
    Returns the page, the posted form and the token's nonce, or the response to send."""
    decision = await limits.check(request)
    if decision is not None and not decision.allowed:
        return too_many(decision)
    try:
        posted = await form.read(request)
    except form.TooLarge:
        return responses.too_large()
    shown = await load_page(request, event_id)
    if shown is None:
        return responses.not_found()
    key = await csrf.server_key(request)
    nonce = csrf.verify(key, csrf.browser_id(request), posted.get("csrf_token"), shown.id)
    if nonce is None:
        typed = {k: posted.get(k) for k in ("ticket_class_id", "quantity", "first_name")}
        typed.update(last_name=posted.get("last_name"), email=posted.get("email"))
        view = FormView(
            "",
            typed,
            message="This form had expired or came from elsewhere. Please check it and submit "
            "it again.",
        )
        return await render_page(request, shown, status=403, main=view)
    return shown, posted, nonce


def _typed(posted: form.Posted) -> dict[str, str]:
    names = ("ticket_class_id", "quantity", "first_name", "last_name", "email")
    return {name: posted.get(name) for name in names}


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
    gate = await checked_post(request, event_id)
    if isinstance(gate, Response):
        return gate
    shown, posted, nonce = gate
    if posted.get("website"):
        # A bot filled the honeypot: nothing is written, and it is answered like a success.
        return responses.see_other(register.pending_path(shown.id))
    typed = _typed(posted)
    if not shown.registration_open:
        view = FormView("", typed, message="Registration is closed.")
        return await render_page(request, shown, status=409, main=view)

    checked = form.Checked()
    chosen = shown.find(typed["ticket_class_id"])
    class_error = _class_error(chosen)
    if class_error is not None:
        checked.errors["ticket_class_id"] = class_error
    if chosen is not None and chosen.availability.state == "sold_out":
        return await render_page(request, shown, status=409, main=_sold_out(typed, 0))
    form.check_person(posted, checked)
    if chosen is not None:
        form.check_quantity(posted, chosen.minimum, chosen.maximum, checked)
    answers = form.check_answers(shown.questions, posted, checked)
    if checked.errors or chosen is None:
        return await render_page(
            request, shown, status=400, main=FormView("", typed, checked.errors)
        )

    values = {**checked.values, "ticket_class_id": chosen.id, "answers": answers}
    return await _issue(request, shown, values, nonce, typed)


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
    shown: page.PublicEvent,
    values: dict[str, Any],
    nonce: str,
    typed: dict[str, str],
) -> Response:
    """Run the registration through the idempotency runner, then answer the browser."""
    setattr(request.state, PARSED_BODY, values)  # what the runner fingerprints
    key = idempotency_key(nonce, values)
    principal = Principal(f"public:{shown.id}", shown.organization_id, MappingProxyType({}))
    now = web.now(request)

    async def work(conn: Any) -> runner.Outcome:
        return await register.register(conn, shown.id, values, now)

    for _ in range(IN_PROGRESS_TRIES):
        try:
            outcome = await runner.run(request, principal, work, key=key)
            break
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
    return await _refused(request, shown, outcome, typed)


async def _refused(
    request: Request, shown: page.PublicEvent, outcome: Response, typed: dict[str, str]
) -> Response:
    """A stored business refusal (404 class, 409 capacity or closed) as the form again."""
    body = jsonutil.loads(bytes(outcome.body))
    fresh = await load_page(request, shown.id) or shown
    if body.get("code") == "capacity_exceeded":
        remaining = int(body.get("details", {}).get("remaining", 0))
        return await render_page(request, fresh, status=409, main=_sold_out(typed, remaining))
    if body.get("code") == "registration_closed":
        view = FormView("", typed, message="Registration is closed.")
        return await render_page(request, fresh, status=409, main=view)
    view = FormView("", typed, {"ticket_class_id": "This ticket is no longer available."})
    return await render_page(request, fresh, status=outcome.status_code, main=view)
