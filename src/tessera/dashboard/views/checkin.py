"""Door check-in: scan a ticket's QR code (camera, in the browser) or search by name/email.

A scan posts the barcode and gets back one large result: green "Checked in", amber "Already
checked in at 19:02" (the event's time zone), red "Not valid: …". The check-in service is the
API's (``transitions.check_in_by_barcode``, safe to call twice); the page also ignores a code
it has just sent, so a camera that keeps seeing one ticket does not post it again and again.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from tessera import errors, web
from tessera.attendee import queries, transitions
from tessera.dashboard import pages
from tessera.dashboard.access import AnyRole, AnyRoleWrite, DashboardRoute
from tessera.db import Connection
from tessera.event import service as events
from tessera.kit.pagination import Page

router = APIRouter(route_class=DashboardRoute)

SEARCH_STATUSES = ["valid", "checked_in", "pending_approval", "invited", "rejected", "deleted"]


async def _counts(conn: Connection, organization_id: str, event_id: str) -> dict[str, Any]:
    event = await events.get_event(conn, organization_id, event_id)
    checked = await queries.checked_in_counts(conn, organization_id, [event_id])
    return {
        "event": event,
        "checked_in": checked.get(event_id, 0),
        "expected": event["tickets_sold"],
    }


@router.get("/events/{event_id}/check-in")
async def check_in_page(request: Request, event_id: str, viewer: AnyRole) -> Response:
    data = await web.read(request, lambda conn: _counts(conn, viewer.organization_id, event_id))
    return pages.render(request, "checkin.html", **data)


@router.get("/events/{event_id}/check-in/counts")
async def check_in_counts(request: Request, event_id: str, viewer: AnyRole) -> Response:
    data = await web.read(request, lambda conn: _counts(conn, viewer.organization_id, event_id))
    return pages.render(request, "checkin_counts.html", **data)


def _result(
    event: dict[str, Any], outcome: str, attendee: dict[str, Any] | None, headline: str
) -> dict[str, Any]:
    return {"outcome": outcome, "attendee": attendee, "headline": headline, "event": event}


async def _check_in(
    request: Request, viewer: Any, event_id: str, barcode: str | None, attendee_id: str | None
) -> Response:
    now = web.now(request)
    organization_id = viewer.organization_id

    async def work(conn: Connection) -> dict[str, Any]:
        if barcode is not None:
            return await transitions.check_in_by_barcode(
                conn, organization_id, event_id, barcode, now, actor=viewer.email
            )
        assert attendee_id is not None
        attendee = await queries.get_attendee(conn, organization_id, event_id, attendee_id)
        if attendee["status"] == "checked_in":
            raise errors.Conflict(
                "Ticket already checked in",
                code="already_checked_in",
                details={"checked_in_at": attendee["checked_in_at"]},
            )
        if attendee["status"] != "valid":
            raise errors.Unprocessable(
                "Not valid", code="ticket_not_valid", details={"status": attendee["status"]}
            )
        return await transitions.update_attendee(
            conn, organization_id, event_id, attendee_id, "checked_in", now, actor=viewer.email
        )

    attendee: dict[str, Any] | None = None
    try:
        attendee = await web.write(request, work)
        outcome, headline, status = "ok", "Checked in", 200
    except errors.AppError as refused:
        if refused.code == "already_checked_in":
            at = (refused.details or {}).get("checked_in_at")
            outcome, status = "already", 200

            async def load_one(conn: Connection) -> dict[str, Any] | None:
                if barcode is not None:
                    return await queries.get_attendee_by_barcode(
                        conn, organization_id, event_id, barcode
                    )
                return await queries.get_attendee(
                    conn, organization_id, event_id, attendee_id or ""
                )

            attendee = await web.read(request, load_one)
            event_tz = await _zone_of(request, organization_id, event_id)
            headline = f"Already checked in at {pages.iso_local(at, event_tz, '%H:%M')}"
        elif refused.code == "ticket_not_valid":
            status_ = (refused.details or {}).get("status", "")
            outcome, headline, status = (
                "invalid",
                f"Not valid: {pages.STATUS_LABELS.get(status_, status_).lower()}",
                200,
            )
        elif isinstance(refused, errors.NotFound) and refused.message != "Event not found":
            outcome, headline, status = "invalid", "Not valid: unknown ticket", 200
        else:
            raise
    data = await web.read(request, lambda conn: _counts(conn, organization_id, event_id))
    return pages.render(
        request,
        "checkin_result.html",
        status,
        outcome=outcome,
        headline=headline,
        attendee=attendee,
        **data,
    )


async def _zone_of(request: Request, organization_id: str, event_id: str) -> str:
    event = await web.read(request, lambda conn: events.get_event(conn, organization_id, event_id))
    return str(event["start"]["timezone"])


@router.post("/events/{event_id}/check-in/scan")
async def scan(request: Request, event_id: str, viewer: AnyRoleWrite) -> Response:
    form = await pages.form(request)
    barcode = form.get("barcode").strip()[:64]
    return await _check_in(request, viewer, event_id, barcode, None)


@router.post("/events/{event_id}/check-in/attendees/{attendee_id}")
async def check_in_attendee(
    request: Request, event_id: str, attendee_id: str, viewer: AnyRoleWrite
) -> Response:
    return await _check_in(request, viewer, event_id, None, attendee_id)


@router.get("/events/{event_id}/check-in/search")
async def search(request: Request, event_id: str, viewer: AnyRole, q: str = "") -> Response:
    q = q.strip()[:200]

    async def load(conn: Connection) -> dict[str, Any]:
        event = await events.get_event(conn, viewer.organization_id, event_id)
        if len(q) < 2:
            return {"event": event, "found": []}
        listed = await queries.search_attendees(
            conn,
            viewer.organization_id,
            event_id,
            Page(page=1, page_size=20),
            statuses=SEARCH_STATUSES,
            query=q,
        )
        return {"event": event, "found": listed["data"]}

    data = await web.read(request, load)
    return pages.render(request, "checkin_search.html", **data, q=q)
