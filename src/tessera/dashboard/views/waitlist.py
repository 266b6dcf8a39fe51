"""An event's waitlist (SPEC §8 with §9): entries in line order, with position and status.

Read through :func:`tessera.waitlist.queries.list_entries`, the query the API's
``GET /api/v1/events/{eventId}/waitlist`` answers with; filters by status and class, 50 a page.
The one setting, how long an offer stays open, is changed through
:func:`tessera.waitlist.queries.set_settings` with the API's own body model (1..720 hours).
Owners and admins (the page shows people's contact details, as the attendee table does).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError

from tessera import web
from tessera.dashboard import pages
from tessera.dashboard.access import DashboardRoute, Staff, StaffWrite
from tessera.db import Connection
from tessera.event import service as events
from tessera.kit.pagination import Page
from tessera.ticket_class import service as classes
from tessera.waitlist import queries
from tessera.waitlist.schemas import WaitlistSettingsUpdate

router = APIRouter(route_class=DashboardRoute)

PAGE_SIZE = 50
STATUS_FILTERS: dict[str, tuple[str, list[str] | None]] = {
    "in_line": ("In line (waiting or offered)", ["waiting", "offered"]),
    "waiting": ("Waiting", ["waiting"]),
    "offered": ("Offered a seat", ["offered"]),
    "claimed": ("Claimed", ["claimed"]),
    "expired": ("Offer expired", ["expired"]),
    "left": ("Left the line", ["left"]),
    "all": ("All", None),
}
STATUS_LABELS = {
    "waiting": "Waiting",
    "offered": "Offered",
    "claimed": "Claimed",
    "expired": "Expired",
    "left": "Left",
}


@router.get("/events/{event_id}/waitlist")
async def waitlist_page(
    request: Request,
    event_id: str,
    viewer: Staff,
    status: str = "in_line",
    ticket_class_id: str = "",
    page: int = 1,
    saved: int = 0,
) -> Response:
    message = "Saved: offers made from now on stay open this long." if saved else ""
    return await _page(request, viewer, event_id, status, ticket_class_id, page, message)


async def _page(
    request: Request,
    viewer: Any,
    event_id: str,
    status: str,
    ticket_class_id: str,
    page: int,
    message: str = "",
    errors: dict[str, str] | None = None,
    typed_hours: str | None = None,
    code: int = 200,
) -> Response:
    status = status if status in STATUS_FILTERS else "in_line"
    page = max(1, min(page, 100_000))
    class_id = ticket_class_id.strip()[:64] or None

    async def load(conn: Connection) -> dict[str, Any]:
        event = await events.get_event(conn, viewer.organization_id, event_id)
        listed = await queries.list_entries(
            conn,
            viewer.organization_id,
            event_id,
            Page(page=page, page_size=PAGE_SIZE),
            statuses=STATUS_FILTERS[status][1],
            class_id=class_id,
        )
        all_classes = await classes.list_ticket_classes(conn, viewer.organization_id, event_id)
        settings = await queries.get_settings(conn, viewer.organization_id, event_id)
        return {"event": event, "listed": listed, "classes": all_classes, "settings": settings}

    data = await web.read(request, load)
    names = {c["id"]: c["name"] for c in data["classes"]}
    offer_hours = typed_hours if typed_hours is not None else str(data["settings"]["offer_hours"])
    return pages.render(
        request,
        "waitlist.html",
        code,
        **data,
        message=message,
        errors=errors or {},
        offer_hours=offer_hours,
        class_names=names,
        filters={"status": status, "ticket_class_id": ticket_class_id},
        status_filters=STATUS_FILTERS,
        status_labels=STATUS_LABELS,
        page=page,
    )


@router.post("/events/{event_id}/waitlist/settings")
async def change_settings(request: Request, event_id: str, viewer: StaffWrite) -> Response:
    """How long an offer stays open (1..720 hours); open offers keep their expiry."""
    form = await pages.form(request)
    typed = form.get("offer_hours").strip()
    try:
        # The API's model is strict (JSON numbers); a form sends text.
        hours: int | str = int(typed) if typed.isdigit() and len(typed) < 6 else typed
        body = WaitlistSettingsUpdate.model_validate({"offer_hours": hours})
    except ValidationError:
        problems = {"offer_hours": "Enter a whole number of hours from 1 to 720."}
        return await _page(
            request, viewer, event_id, "in_line", "", 1, "", problems, typed, code=400
        )
    now = web.now(request)
    await web.write(
        request,
        lambda conn: queries.set_settings(
            conn, viewer.organization_id, event_id, body.offer_hours, now
        ),
    )
    return pages.redirect(f"/dashboard/events/{event_id}/waitlist?saved=1")
