"""HTTP endpoints of /api/v1/events: parse, authorize, call one service function."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from tessera import errors, web
from tessera.auth.dependencies import require
from tessera.auth.service import Principal
from tessera.db import Connection
from tessera.event import service
from tessera.event.schemas import EventCreate, EventEnvelope, EventPage, EventUpdate
from tessera.idempotency import runner
from tessera.kit.http import data, json_response
from tessera.kit.pagination import PageParams, csv_values

router = APIRouter(prefix="/events", tags=["events"])

ReadEvents = Annotated[Principal, Depends(require("events", "read"))]
WriteEvents = Annotated[Principal, Depends(require("events", "write"))]
EVENT_STATUSES = frozenset({"active", "inactive"})


@router.post("", status_code=201, response_model=EventEnvelope)
async def create_event(body: EventCreate, request: Request, principal: WriteEvents) -> Response:
    now = web.now(request)

    async def work(conn: Connection) -> runner.Outcome:
        event = await service.create_event(conn, principal.organization_id, body, now)
        return runner.Outcome(201, {"data": event}, {"Location": f"/api/v1/events/{event['id']}"})

    return await runner.run(request, principal, work)


@router.get("", response_model=EventPage)
async def list_events(
    request: Request,
    principal: ReadEvents,
    page: PageParams,
    status: Annotated[str | None, Query(description="CSV of active, inactive")] = None,
) -> Response:
    try:
        statuses = csv_values(status, EVENT_STATUSES, ("active",))
    except ValueError as exc:
        raise errors.field_error("status", str(exc)) from None
    result = await web.read(
        request, lambda conn: service.list_events(conn, principal.organization_id, statuses, page)
    )
    return json_response(result)


@router.get("/{event_id}", response_model=EventEnvelope)
async def get_event(event_id: str, request: Request, principal: ReadEvents) -> Response:
    event = await web.read(
        request, lambda conn: service.get_event(conn, principal.organization_id, event_id)
    )
    return data(event)


@router.patch("/{event_id}", response_model=EventEnvelope)
async def update_event(
    event_id: str, body: EventUpdate, request: Request, principal: WriteEvents
) -> Response:
    now = web.now(request)
    event = await web.write(
        request,
        lambda conn: service.update_event(conn, principal.organization_id, event_id, body, now),
    )
    return data(event)
