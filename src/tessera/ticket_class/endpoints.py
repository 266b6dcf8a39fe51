"""HTTP endpoints of /api/v1/events/{eventId}/ticket-classes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from tessera import web
from tessera.auth.dependencies import require
from tessera.auth.service import Principal
from tessera.db import Connection
from tessera.idempotency import runner
from tessera.kit.http import data, json_response
from tessera.ticket_class import service
from tessera.ticket_class.schemas import (
    Deleted,
    TicketClassCreate,
    TicketClassEnvelope,
    TicketClassList,
    TicketClassUpdate,
)

router = APIRouter(prefix="/events/{event_id}/ticket-classes", tags=["ticket classes"])

ReadClasses = Annotated[Principal, Depends(require("ticket_classes", "read"))]
WriteClasses = Annotated[Principal, Depends(require("ticket_classes", "write"))]


@router.get("", response_model=TicketClassList)
async def list_ticket_classes(event_id: str, request: Request, principal: ReadClasses) -> Response:
    classes = await web.read(
        request,
        lambda conn: service.list_ticket_classes(conn, principal.organization_id, event_id),
    )
    return json_response({"data": classes})


@router.post("", status_code=201, response_model=TicketClassEnvelope)
async def create_ticket_class(
    event_id: str, body: TicketClassCreate, request: Request, principal: WriteClasses
) -> Response:
    now = web.now(request)

    async def work(conn: Connection) -> runner.Outcome:
        created = await service.create_ticket_class(
            conn, principal.organization_id, event_id, body, now
        )
        location = f"/api/v1/events/{event_id}/ticket-classes/{created['id']}"
        return runner.Outcome(201, {"data": created}, {"Location": location})

    return await runner.run(request, principal, work)


@router.get("/{class_id}", response_model=TicketClassEnvelope)
async def get_ticket_class(
    event_id: str, class_id: str, request: Request, principal: ReadClasses
) -> Response:
    found = await web.read(
        request,
        lambda conn: service.get_ticket_class(conn, principal.organization_id, event_id, class_id),
    )
    return data(found)


@router.patch("/{class_id}", response_model=TicketClassEnvelope)
async def update_ticket_class(
    event_id: str,
    class_id: str,
    body: TicketClassUpdate,
    request: Request,
    principal: WriteClasses,
) -> Response:
    now = web.now(request)
    updated = await web.write(
        request,
        lambda conn: service.update_ticket_class(
            conn, principal.organization_id, event_id, class_id, body, now
        ),
    )
    return data(updated)


@router.delete("/{class_id}", response_model=Deleted)
async def delete_ticket_class(
    event_id: str, class_id: str, request: Request, principal: WriteClasses
) -> Response:
    now = web.now(request)
    result = await web.write(
        request,
        lambda conn: service.delete_ticket_class(
            conn, principal.organization_id, event_id, class_id, now
        ),
    )
    return json_response(result)
