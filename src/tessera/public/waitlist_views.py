"""The waitlist's public pages: joining from the event page, and the claim link of an offer.

``POST /e/{eventId}/waitlist`` puts a person in line for a sold-out free class (one entry per
email and class). ``/e/{eventId}/claim/{token}`` is the link an offer's email carries: the page
shows the offer; its form claims or declines it (a GET never changes anything, so mail
scanners that open links claim nothing).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from tessera import errors, web
from tessera.db import Connection, Row
from tessera.kit.clock import to_datetime
from tessera.kit.timezones import zone
from tessera.public import csrf, form, limits, render, responses
from tessera.public.endpoints import (
    checked_post,
    load_page,
    read_post,
    render_page,
    too_many,
)
from tessera.public.render import FormView
from tessera.ticket_page.service import event_view
from tessera.waitlist import service

router = APIRouter(tags=["public event page"], include_in_schema=False)


@router.post("/e/{event_id}/waitlist", response_class=HTMLResponse)
async def join_waitlist(event_id: str, request: Request) -> Response:
    posted = await read_post(request)
    if isinstance(posted, Response):
        return posted
    gate = await checked_post(request, event_id, posted)
    if isinstance(gate, Response):
        return gate
    shown, _ = gate
    joined_path = f"/e/{shown.id}/waitlist/joined"
    if posted.get("website"):
        return responses.see_other(joined_path)  # a bot: nothing written, answered as a success
    class_id = posted.get("ticket_class_id")
    chosen = shown.find(class_id)
    typed = {name: posted.get(name) for name in ("first_name", "last_name", "email")}
    if chosen is None or not chosen.availability.free or not shown.registration_open:
        view = FormView("", message="This ticket has no waitlist.")
        return await render_page(request, shown, status=404, main=view)
    if chosen.availability.state != "sold_out":
        view = FormView(
            "",
            {**typed, "ticket_class_id": chosen.id},
            message=f"{chosen.name} is not sold out: register below.",
        )
        return await render_page(request, shown, status=409, main=view)
    checked = form.Checked()
    form.check_person(posted, checked)
    if checked.errors:
        view = FormView("", typed, checked.errors, prefix=f"wl-{chosen.id}-")
        return await render_page(
            request, shown, status=400, waitlist_class=chosen.id, waitlist=view
        )
    person = {key: checked.values[key] for key in ("email", "first_name", "last_name")}
    now = web.now(request)
    joined = await web.write(
        request,
        lambda conn: service.join(conn, shown.organization_id, shown.id, chosen.id, person, now),
    )
    return responses.see_other(joined_path + ("" if joined.new else "?already=1"))


@router.get("/e/{event_id}/waitlist/joined", response_class=HTMLResponse)
async def joined(event_id: str, request: Request) -> Response:
    shown = await load_page(request, event_id)
    if shown is None:
        return responses.not_found()
    lines = ["If a seat frees up, the first person waiting gets it: we'll email you a link to "]
    lines[0] += "claim it. You don't need to do anything until then."
    if request.query_params.get("already"):
        lines.insert(0, "You were already in line for this ticket: your place is unchanged.")
    content = render.message(
        "You're on the waitlist",
        lines,
        event=shown.event,
        link=("Back to the event", f"/e/{shown.id}"),
        outcome="waitlisted",
    )
    return responses.html(content)


async def _offer_page(
    request: Request,
    event_id: str,
    token: str,
    *,
    status: int = 200,
    message: str | None = None,
) -> Response:
    async def load(conn: Connection) -> tuple[Row, Row | None, str | None] | None:
        try:
            entry = await service.view(conn, token)
        except errors.NotFound:
            return None
        event = await conn.fetchrow(
            "SELECT e.id AS event_id, e.name AS event_name, e.start_at, e.start_timezone,"
            " e.end_at, e.end_timezone, e.venue_name, e.venue_address, e.venue_city,"
            " e.venue_state, e.venue_country, e.virtual_url, tc.name AS class_name"
            " FROM events e JOIN ticket_classes tc ON tc.id = $2 WHERE e.id = $1",
            entry["event_id"],
            entry["ticket_class_id"],
        )
        payment = None
        if entry["attendee_id"] is not None:
            payment = await conn.fetchval(
                "SELECT payment_id FROM tickets WHERE id = $1", entry["attendee_id"]
            )
        return entry, event, payment

    found = await web.read(request, load)
    if found is None or found[1] is None or found[0]["event_id"] != event_id:
        return responses.not_found()
    entry, event, payment = found
    assert event is not None
    now = web.now(request)
    state = entry["status"]
    if state == "offered" and entry["offer_expires_at"] <= now:
        state = "expired"
    key = await csrf.server_key(request)
    browser = csrf.browser_id(request) or csrf.new_browser_id()
    timezone = event["start_timezone"]
    content = render.template(
        "claim.html",
        event=event_view(event),
        class_name=event["class_name"],
        state=state,
        expires=_when(entry["offer_expires_at"], timezone),
        message=message,
        action=f"/e/{event_id}/claim/{token}",
        csrf_token=Markup.escape(csrf.issue(key, browser, event_id)),
        ticket_href=f"/t/{payment}" if payment else None,
        event_href=f"/e/{event_id}",
    )
    response = responses.html(content, status, private=True)
    responses.set_browser_cookie(request, response, browser)
    return response


def _when(micros: int | None, timezone: str) -> str:
    if micros is None:
        return ""
    moment = to_datetime(micros).astimezone(zone(timezone))
    return f"{moment:%A} {moment.day} {moment:%B %Y, %H:%M} {moment.tzname() or ''}"


@router.get("/e/{event_id}/claim/{token}", response_class=HTMLResponse)
async def offer(event_id: str, token: str, request: Request) -> Response:
    """The offer behind an email's claim link (the token is the secret)."""
    return await _offer_page(request, event_id, token)


@router.post("/e/{event_id}/claim/{token}", response_class=HTMLResponse)
async def answer_offer(event_id: str, token: str, request: Request) -> Response:
    """``action=claim`` (the default): the seat becomes a valid ticket (303 to the ticket page)
    if one is free for this person; ``action=decline``: the offer passes to the next person."""
    decision = await limits.check(request)
    if decision is not None and not decision.allowed:
        return too_many(decision)
    try:
        posted = await form.read(request)
    except form.TooLarge:
        return responses.too_large()
    key = await csrf.server_key(request)
    if csrf.verify(key, csrf.browser_id(request), posted.get("csrf_token"), event_id) is None:
        message = "This page had expired. Please try again."
        return await _offer_page(request, event_id, token, status=403, message=message)
    now = web.now(request)
    action = posted.get("action") or "claim"
    try:
        if action == "decline":
            await web.write(request, lambda conn: service.decline(conn, token, now))
            return responses.see_other(f"/e/{event_id}/claim/{token}")
        if action != "claim":
            return await _offer_page(request, event_id, token, status=400)
        return await _claim(request, event_id, token, now)
    except errors.NotFound:
        return responses.not_found()


async def _claim(request: Request, event_id: str, token: str, now: int) -> Response:
    async def work(conn: Connection) -> Any:
        entry = await service.view(conn, token)
        if entry["event_id"] != event_id:
            raise errors.NotFound("Offer not found")
        return await service.claim(conn, token, now)

    try:
        result = await web.write(request, work)
    except service.NoSeat:
        await web.write(request, lambda conn: service.back_in_line(conn, token, now))
        message = (
            "Someone took the last seat before you claimed it. You're still first in line: "
            "we'll email you as soon as another seat frees up."
        )
        return await _offer_page(request, event_id, token, status=409, message=message)
    if result.outcome == "claimed":
        return responses.see_other(f"/t/{result.payment_id}")
    if result.outcome == "pending_approval":
        return responses.see_other(f"/e/{event_id}/pending")
    if result.outcome == "registration_closed":
        message = "Registration for this event is closed, so the seat cannot be claimed now."
        return await _offer_page(request, event_id, token, status=409, message=message)
    status = 410 if result.outcome == "expired" else 409
    return await _offer_page(request, event_id, token, status=status)
