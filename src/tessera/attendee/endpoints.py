"""HTTP endpoints of /api/v1/events/{eventId}/attendees and /check-ins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from tessera import web
from tessera.attendee import create, filters, queries, transitions
from tessera.attendee.schemas import (
    AttendeeCreate,
    AttendeeDeleted,
    AttendeeEnvelope,
    AttendeeListQuery,
    AttendeePage,
    AttendeesCreated,
    AttendeeUpdate,
    CheckInRequest,
)
from tessera.auth.dependencies import require
from tessera.auth.service import Principal
from tessera.db import Connection, OneStatement
from tessera.fast_path import fast_path
from tessera.idempotency import runner
from tessera.kit.http import data, json_response

router = APIRouter(prefix="/events/{event_id}", tags=["attendees"])

ReadAttendees = Annotated[Principal, Depends(require("attendees", "read"))]
WriteAttendees = Annotated[Principal, Depends(require("attendees", "write"))]


@router.post("/attendees", status_code=201, response_model=AttendeesCreated)
@fast_path
async def create_attendees(
    event_id: str, body: AttendeeCreate, request: Request, principal: WriteAttendees
) -> Response:
    now = web.now(request)

    async def work(conn: Connection) -> runner.Outcome:
        result = await create.create_attendees(conn, principal.organization_id, event_id, body, now)
        return runner.Outcome(201, result)

    def outcome_of(version: create.OneStatementCreate) -> runner.OneStatementWork:
        async def in_one_statement(conn: OneStatement) -> runner.Outcome:
            return runner.Outcome(
                201, await version(conn, principal.organization_id, event_id, body, now)
            )

        return in_one_statement

    versions = create.one_statement_versions(principal.organization_id, event_id, body, now)
    return await runner.run(
        request,
        principal,
        work,
        in_one_statement=[outcome_of(v) for v in versions],
        turn=body.ticket_class_id,  # every create of the class updates its row
    )


@router.get("/attendees", response_model=AttendeePage)
@fast_path
async def list_attendees(
    event_id: str,
    request: Request,
    principal: ReadAttendees,
    query: Annotated[AttendeeListQuery, Query()],
) -> Response:
    chosen = filters.parse(
        query.status, query.email, query.ticket_class_id, query.q, query.updated_since
    )
    result = await web.read(
        request,
        lambda conn: queries.list_attendees(
            conn,
            principal.organization_id,
            event_id,
            query.paging,
            statuses=list(chosen.statuses),
            email=chosen.email,
            ticket_class_id=chosen.ticket_class_id,
            query=chosen.query,
            updated_since=chosen.updated_since,
        ),
    )
    return json_response(result)


@router.get("/attendees/{attendee_id}", response_model=AttendeeEnvelope)
@fast_path
async def get_attendee(
    event_id: str, attendee_id: str, request: Request, principal: ReadAttendees
) -> Response:
    attendee = await web.read(
        request,
        lambda conn: queries.get_attendee(conn, principal.organization_id, event_id, attendee_id),
    )
    return data(attendee)


@router.patch("/attendees/{attendee_id}", response_model=AttendeeEnvelope)
async def update_attendee(
    event_id: str,
    attendee_id: str,
    body: AttendeeUpdate,
    request: Request,
    principal: WriteAttendees,
) -> Response:
    now = web.now(request)
    attendee = await web.write(
        request,
        lambda conn: transitions.update_attendee(
            conn,
            principal.organization_id,
            event_id,
            attendee_id,
            body.status,
            now,
            notify_guest=body.notify_guest,
            custom_message=body.custom_message,
        ),
    )
    return data(attendee)


@router.delete("/attendees/{attendee_id}", response_model=AttendeeDeleted)
async def delete_attendee(
    event_id: str, attendee_id: str, request: Request, principal: WriteAttendees
) -> Response:
    now = web.now(request)
    await web.write(
        request,
        lambda conn: transitions.update_attendee(
            conn, principal.organization_id, event_id, attendee_id, "deleted", now
        ),
    )
    return json_response({"deleted": True, "id": attendee_id})


@router.post("/check-ins", response_model=AttendeeEnvelope, tags=["check-in"])
async def check_in(
    event_id: str, body: CheckInRequest, request: Request, principal: WriteAttendees
) -> Response:
    now = web.now(request)
    attendee = await web.write(
        request,
        lambda conn: transitions.check_in_by_barcode(
            conn, principal.organization_id, event_id, body.barcode, now
        ),
    )
    return json_response({"data": attendee, "result": "ok"})
