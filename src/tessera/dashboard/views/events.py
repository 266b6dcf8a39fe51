"""Events: the list (landing page), create, edit, close registration; an event's ticket classes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError

from tessera import errors, web
from tessera.attendee import queries as attendees
from tessera.dashboard import pages
from tessera.dashboard.access import AnyRole, DashboardRoute, Staff, StaffWrite
from tessera.db import Connection
from tessera.event import service as events
from tessera.event.schemas import EventCreate, EventUpdate
from tessera.kit.pagination import Page
from tessera.ticket_class import service as classes
from tessera.ticket_class.schemas import TicketClassCreate, TicketClassUpdate

router = APIRouter(route_class=DashboardRoute)


@router.get("")
async def event_list(request: Request, viewer: AnyRole, page: int = 1) -> Response:
    """Every active event with sold / capacity / checked in. Door staff see it too: it is how
    they reach an event's check-in page."""
    page = max(1, min(page, 10_000))

    async def load(conn: Connection) -> dict[str, Any]:
        listed = await events.list_events(
            conn, viewer.organization_id, ["active", "inactive"], Page(page=page, page_size=50)
        )
        ids = [event["id"] for event in listed["data"]]
        listed["checked_in"] = await attendees.checked_in_counts(conn, viewer.organization_id, ids)
        return listed

    listed = await web.read(request, load)
    return pages.render(request, "events.html", listed=listed)


def _event_form_values(form: pages.Form) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": form.get("name").strip(),
        "description": form.get("description").strip() or None,
        "start": {"utc": form.get("start"), "timezone": form.get("timezone")},
        "location": form.get("location").strip(),
        "require_approval": form.checked("require_approval"),
    }
    if form.get("end"):
        body["end"] = {"utc": form.get("end"), "timezone": form.get("timezone")}
    return body


def _int(form: pages.Form, name: str, errors_: dict[str, str]) -> int:
    raw = form.get(name).strip() or "0"
    try:
        return int(raw)
    except ValueError:
        errors_[name] = "must be a whole number"
        return 0


@router.get("/events/new")
async def new_event_form(request: Request, viewer: Staff) -> Response:
    return pages.render(request, "event_form.html", event=None, values={}, errors={})


@router.post("/events/new")
async def create_event(request: Request, viewer: StaffWrite) -> Response:
    form = await pages.form(request)
    problems: dict[str, str] = {}
    body = _event_form_values(form)
    body["capacity"] = _int(form, "capacity", problems)
    if form.get("currency"):
        body["currency"] = form.get("currency").strip()
    if form.get("ticket_price"):
        body["ticket_price"] = form.get("ticket_price").strip()
    values = {k: form.get(k) for k in form.fields}
    try:
        if problems:
            raise errors.ValidationFailed({k: [v] for k, v in problems.items()})
        parsed = EventCreate.model_validate(body)
        event = await web.write(
            request,
            lambda conn: events.create_event(
                conn, viewer.organization_id, parsed, web.now(request)
            ),
        )
    except (ValidationError, errors.AppError) as exc:
        if isinstance(exc, errors.NotFound):
            raise
        return pages.render(
            request,
            "event_form.html",
            400,
            event=None,
            values=values,
            errors=pages.field_errors(exc),
        )
    return pages.redirect(f"/dashboard/events/{event['id']}")


async def _event_page_data(conn: Connection, organization_id: str, event_id: str) -> dict[str, Any]:
    event = await events.get_event(conn, organization_id, event_id)
    listed = await classes.list_ticket_classes(conn, organization_id, event_id)
    counts = await attendees.checked_in_counts(conn, organization_id, [event_id])
    return {"event": event, "classes": listed, "checked_in": counts.get(event_id, 0)}


@router.get("/events/{event_id}")
async def event_page(request: Request, event_id: str, viewer: Staff) -> Response:
    data = await web.read(
        request, lambda conn: _event_page_data(conn, viewer.organization_id, event_id)
    )
    return pages.render(request, "event.html", **data, errors={}, message="")


def _place(event: dict[str, Any]) -> str:
    """The event's place as the edit form shows it: the online link or the venue's name."""
    return str(event["virtual_url"] or event["venue"]["name"] or "")


@router.get("/events/{event_id}/edit")
async def edit_event_form(request: Request, event_id: str, viewer: Staff) -> Response:
    event = await web.read(
        request, lambda conn: events.get_event(conn, viewer.organization_id, event_id)
    )
    values = {
        "name": event["name"],
        "description": event["description"] or "",
        "start": pages.iso_local(
            event["start"]["utc"], event["start"]["timezone"], "%Y-%m-%dT%H:%M"
        ),
        "end": pages.iso_local(event["end"]["utc"], event["end"]["timezone"], "%Y-%m-%dT%H:%M")
        if event["end"]
        else "",
        "timezone": event["start"]["timezone"],
        "location": _place(event),
        "capacity": str(event["capacity"]),
        "require_approval": event["require_approval"],
    }
    return pages.render(request, "event_form.html", event=event, values=values, errors={})


@router.post("/events/{event_id}/edit")
async def edit_event(request: Request, event_id: str, viewer: StaffWrite) -> Response:
    form = await pages.form(request)
    problems: dict[str, str] = {}
    body = _event_form_values(form)
    body["capacity"] = _int(form, "capacity", problems)
    if not form.get("end"):
        body["end"] = None
    current = await web.read(
        request, lambda conn: events.get_event(conn, viewer.organization_id, event_id)
    )
    if body["location"] == _place(current):
        # The form shows a venue as its name only: sending it back unchanged would erase the
        # venue's address, city, state and country. Only a changed place is sent.
        del body["location"]
    values: dict[str, Any] = {k: form.get(k) for k in form.fields}
    values["require_approval"] = form.checked("require_approval")
    try:
        if problems:
            raise errors.ValidationFailed({k: [v] for k, v in problems.items()})
        parsed = EventUpdate.model_validate(body)
        await web.write(
            request,
            lambda conn: events.update_event(
                conn, viewer.organization_id, event_id, parsed, web.now(request)
            ),
        )
    except (ValidationError, errors.AppError) as exc:
        if isinstance(exc, errors.NotFound):
            raise
        event = await web.read(
            request, lambda conn: events.get_event(conn, viewer.organization_id, event_id)
        )
        return pages.render(
            request,
            "event_form.html",
            409 if isinstance(exc, errors.Conflict) else 400,
            event=event,
            values=values,
            errors=pages.field_errors(exc),
        )
    return pages.redirect(f"/dashboard/events/{event_id}")


@router.post("/events/{event_id}/registration")
async def set_registration(request: Request, event_id: str, viewer: StaffWrite) -> Response:
    """Close (or reopen) registration: public flows refuse new attendees; manual add works."""
    form = await pages.form(request)
    target = "closed" if form.get("registration_status") == "closed" else "open"
    body = EventUpdate.model_validate({"registration_status": target})
    await web.write(
        request,
        lambda conn: events.update_event(
            conn, viewer.organization_id, event_id, body, web.now(request)
        ),
    )
    return pages.redirect(f"/dashboard/events/{event_id}")


def _class_body(form: pages.Form, problems: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": form.get("name").strip(),
        "quantity_total": _int(form, "quantity_total", problems),
        "cost": form.get("cost").strip() or "0",
    }
    if form.get("description").strip():
        body["description"] = form.get("description").strip()
    body["require_approval"] = form.checked("require_approval")
    return body


async def _event_page_with(
    request: Request, viewer: Any, event_id: str, status: int, exc: Exception, values: Any
) -> Response:
    data = await web.read(
        request, lambda conn: _event_page_data(conn, viewer.organization_id, event_id)
    )
    message = exc.message if isinstance(exc, errors.AppError) else "Check the fields below."
    return pages.render(
        request,
        "event.html",
        status,
        **data,
        errors=pages.field_errors(exc),
        message=message,
        values=values,
    )


@router.post("/events/{event_id}/ticket-classes")
async def create_class(request: Request, event_id: str, viewer: StaffWrite) -> Response:
    form = await pages.form(request)
    problems: dict[str, str] = {}
    body = _class_body(form, problems)
    try:
        if problems:
            raise errors.ValidationFailed({k: [v] for k, v in problems.items()})
        parsed = TicketClassCreate.model_validate(body)
        await web.write(
            request,
            lambda conn: classes.create_ticket_class(
                conn, viewer.organization_id, event_id, parsed, web.now(request)
            ),
        )
    except (ValidationError, errors.AppError) as exc:
        if isinstance(exc, errors.NotFound):
            raise
        status = exc.status if isinstance(exc, errors.AppError) else 400
        return await _event_page_with(request, viewer, event_id, status, exc, dict(body))
    return pages.redirect(f"/dashboard/events/{event_id}")


@router.get("/events/{event_id}/ticket-classes/{class_id}")
async def class_form(request: Request, event_id: str, class_id: str, viewer: Staff) -> Response:
    found = await web.read(
        request,
        lambda conn: classes.get_ticket_class(conn, viewer.organization_id, event_id, class_id),
    )
    if found["status"] != "active":
        raise errors.ticket_class_not_found()
    return pages.render(
        request,
        "class_form.html",
        event_id=event_id,
        ticket_class=found,
        values=found,
        errors={},
        message="",
    )


@router.post("/events/{event_id}/ticket-classes/{class_id}")
async def edit_class(
    request: Request, event_id: str, class_id: str, viewer: StaffWrite
) -> Response:
    form = await pages.form(request)
    problems: dict[str, str] = {}
    body = _class_body(form, problems)
    try:
        if problems:
            raise errors.ValidationFailed({k: [v] for k, v in problems.items()})
        parsed = TicketClassUpdate.model_validate(body)
        await web.write(
            request,
            lambda conn: classes.update_ticket_class(
                conn, viewer.organization_id, event_id, class_id, parsed, web.now(request)
            ),
        )
    except (ValidationError, errors.AppError) as exc:
        if isinstance(exc, errors.NotFound):
            raise
        found = await web.read(
            request,
            lambda conn: classes.get_ticket_class(conn, viewer.organization_id, event_id, class_id),
        )
        status = exc.status if isinstance(exc, errors.AppError) else 400
        message = exc.message if isinstance(exc, errors.AppError) else "Check the fields below."
        return pages.render(
            request,
            "class_form.html",
            status,
            event_id=event_id,
            ticket_class=found,
            values={**found, **body},
            errors=pages.field_errors(exc),
            message=message,
        )
    return pages.redirect(f"/dashboard/events/{event_id}")


@router.post("/events/{event_id}/ticket-classes/{class_id}/delete")
async def delete_class(
    request: Request, event_id: str, class_id: str, viewer: StaffWrite
) -> Response:
    try:
        await web.write(
            request,
            lambda conn: classes.delete_ticket_class(
                conn, viewer.organization_id, event_id, class_id, web.now(request)
            ),
        )
    except errors.Conflict as exc:
        sold = exc.extra.get("sold_count", 0)
        exc.message = f"{exc.message}: {sold} ticket(s) hold a seat in it."
        return await _event_page_with(request, viewer, event_id, 409, exc, {})
    return pages.redirect(f"/dashboard/events/{event_id}")
