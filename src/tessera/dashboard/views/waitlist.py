"""An event's waitlist (SPEC §8 with §9): entries in line order, with position and status.

Read through :func:`tessera.waitlist.queries.list_entries`, the query the API's
``GET /api/v1/events/{eventId}/waitlist`` answers with; filters by status and class, 50 a page.
Owners and admins (the page shows people's contact details, as the attendee table does).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from tessera import web
from tessera.dashboard import pages
from tessera.dashboard.access import DashboardRoute, Staff
from tessera.db import Connection
from tessera.event import service as events
from tessera.kit.pagination import Page
from tessera.ticket_class import service as classes
from tessera.waitlist import queries

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
        return {"event": event, "listed": listed, "classes": all_classes}

    data = await web.read(request, load)
    names = {c["id"]: c["name"] for c in data["classes"]}
    return pages.render(
        request,
        "waitlist.html",
        **data,
        class_names=names,
        filters={"status": status, "ticket_class_id": ticket_class_id},
        status_filters=STATUS_FILTERS,
        status_labels=STATUS_LABELS,
        page=page,
    )
