"""An event's attendees: the table (search, filters, sort, pages) and one attendee with its
history and actions. Every action goes through the service the API's PATCH/DELETE uses."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from tessera import errors, web
from tessera.attendee import queries, transitions
from tessera.dashboard import pages
from tessera.dashboard.access import AnyRole, DashboardRoute, Staff, StaffWrite
from tessera.db import Connection
from tessera.event import service as events
from tessera.kit.pagination import Page
from tessera.outbox import repository as outbox
from tessera.question import answers as question_answers
from tessera.question import service as questions
from tessera.ticket_class import service as classes

router = APIRouter(route_class=DashboardRoute)

PAGE_SIZE = 50
STATUS_FILTERS: dict[str, tuple[str, list[str]]] = {
    "attending": ("Attending (valid and checked in)", ["valid", "checked_in"]),
    "valid": ("Valid, not checked in", ["valid"]),
    "checked_in": ("Checked in", ["checked_in"]),
    "pending_approval": ("Pending approval", ["pending_approval"]),
    "invited": ("Invited", ["invited"]),
    "rejected": ("Rejected", ["rejected"]),
    "deleted": ("Deleted", ["deleted"]),
    "all": ("All", ["valid", "checked_in", "pending_approval", "invited", "rejected", "deleted"]),
}
SORTS = {"created": "Oldest first", "-created": "Newest first", "name": "Last name"}


@router.get("/events/{event_id}/attendees")
async def attendee_list(
    request: Request,
    event_id: str,
    viewer: AnyRole,
    q: str = "",
    status: str = "attending",
    ticket_class_id: str = "",
    sort: str = "created",
    page: int = 1,
) -> Response:
    """The table. Door staff may search it too (read only)."""
    q = q.strip()[:200]
    status = status if status in STATUS_FILTERS else "attending"
    sort = sort if sort in SORTS else "created"
    page = max(1, min(page, 100_000))

    async def load(conn: Connection) -> dict[str, Any]:
        event = await events.get_event(conn, viewer.organization_id, event_id)
        if q:
            listed = await queries.search_attendees(
                conn,
                viewer.organization_id,
                event_id,
                Page(page=page, page_size=PAGE_SIZE),
                statuses=STATUS_FILTERS[status][1],
                ticket_class_id=ticket_class_id or None,
                query=q,
                order=sort,
            )
        else:
            listed = await queries.list_attendees(
                conn,
                viewer.organization_id,
                event_id,
                Page(page=page, page_size=PAGE_SIZE),
                statuses=STATUS_FILTERS[status][1],
                ticket_class_id=ticket_class_id or None,
                order=sort,
            )
        all_classes = await classes.list_ticket_classes(conn, viewer.organization_id, event_id)
        return {"event": event, "listed": listed, "classes": all_classes}

    data = await web.read(request, load)
    filters = {"q": q, "status": status, "ticket_class_id": ticket_class_id, "sort": sort}
    template = "attendee_rows.html" if request.headers.get("hx-request") else "attendees.html"
    return pages.render(
        request,
        template,
        **data,
        filters=filters,
        status_filters=STATUS_FILTERS,
        sorts=SORTS,
        page=page,
    )


async def _detail(
    request: Request,
    viewer: Any,
    event_id: str,
    attendee_id: str,
    status: int = 200,
    message: str = "",
    error: str = "",
) -> Response:
    async def load(conn: Connection) -> dict[str, Any]:
        event = await events.get_event(conn, viewer.organization_id, event_id)
        attendee, timeline = await queries.get_attendee_with_history(
            conn, viewer.organization_id, event_id, attendee_id
        )
        given = attendee.get("answers") or {}
        asked = await questions.list_questions(conn, viewer.organization_id, event_id)
        return {
            "event": event,
            "attendee": attendee,
            "timeline": timeline,
            "answers": _answers_shown(asked, given),
        }

    data = await web.read(request, load)
    return pages.render(request, "attendee.html", status, **data, message=message, error=error)


def _answers_shown(asked: list[dict[str, Any]], given: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, answer as text) in the questions' order; an answer to a question deleted since
    stays shown (SPEC §10 keeps it), under the question's id."""
    labels = {q["id"]: q["label"] for q in asked}
    order = [q["id"] for q in asked if q["id"] in given]
    order += [qid for qid in given if qid not in labels]
    return [
        (labels.get(qid, f"Deleted question {qid}"), question_answers.as_text(given[qid]))
        for qid in order
    ]


@router.get("/events/{event_id}/attendees/{attendee_id}")
async def attendee_page(
    request: Request,
    event_id: str,
    attendee_id: str,
    viewer: Staff,
    issued: int = 0,
    done: str = "",
) -> Response:
    message = f"Issued {issued} ticket(s)." if issued > 0 else DONE.get(done, "")
    return await _detail(request, viewer, event_id, attendee_id, message=message)


ACTIONS = {
    "approve": ("valid", "Approved."),
    "reject": ("rejected", "Rejected."),
    "check_in": ("checked_in", "Checked in."),
    "delete": ("deleted", "Deleted."),
}


DONE = {action: message for action, (_, message) in ACTIONS.items()}
DONE["resend"] = "Confirmation email queued."


@router.post("/events/{event_id}/attendees/{attendee_id}/{action}")
async def attendee_action(
    request: Request, event_id: str, attendee_id: str, action: str, viewer: StaffWrite
) -> Response:
    """approve, reject, check_in, delete (the API's status changes) or resend (the
    confirmation email of the ticket's payment, queued like Create Attendee's)."""
    now = web.now(request)
    form = await pages.form(request)
    notify = form.checked("notify_guest")
    try:
        if action == "resend":
            await web.write(
                request,
                lambda conn: _resend(conn, viewer.organization_id, event_id, attendee_id, now),
            )
        elif action in ACTIONS:
            target = ACTIONS[action][0]
            await web.write(
                request,
                lambda conn: transitions.update_attendee(
                    conn,
                    viewer.organization_id,
                    event_id,
                    attendee_id,
                    target,
                    now,
                    notify_guest=notify,
                    actor=viewer.email,
                ),
            )
        else:
            raise errors.NotFound("No such action")
    except errors.NotFound:
        raise
    except errors.AppError as refused:
        return await _detail(
            request, viewer, event_id, attendee_id, refused.status, error=refused.message
        )
    return pages.redirect(f"/dashboard/events/{event_id}/attendees/{attendee_id}?done={action}")


async def _resend(
    conn: Connection, organization_id: str, event_id: str, attendee_id: str, now: int
) -> None:
    """Queue the confirmation email again, for this one ticket (its payment's page link)."""
    from tessera.attendee.create import CONFIRMATION_TOPIC

    attendee = await queries.get_attendee(conn, organization_id, event_id, attendee_id)
    if attendee["status"] in ("deleted", "rejected"):
        raise errors.Unprocessable(
            f"A {attendee['status']} ticket gets no confirmation email", code="ticket_not_valid"
        )
    contact_id = await queries.contact_of(conn, organization_id, attendee_id)
    await outbox.enqueue(
        conn,
        organization_id,
        "email",
        CONFIRMATION_TOPIC,
        {
            "event_id": event_id,
            "payment_id": attendee["payment_id"],
            "contact_id": contact_id,
            "ticket_ids": [attendee_id],
        },
        now,
    )
