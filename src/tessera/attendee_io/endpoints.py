"""HTTP endpoints of /api/v1/events/{eventId}/attendees/export and /import (SPEC §10).

Included before the attendees router: ``/attendees/export`` must not be taken for an
attendee ID.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from tessera import web
from tessera.attendee_io import export, filters
from tessera.auth.dependencies import require
from tessera.auth.service import Principal

router = APIRouter(prefix="/events/{event_id}/attendees", tags=["attendees"])

ReadAttendees = Annotated[Principal, Depends(require("attendees", "read"))]
WriteAttendees = Annotated[Principal, Depends(require("attendees", "write"))]

CSV = "text/csv; charset=utf-8"


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "The attendees as CSV"}},
)
async def export_attendees(
    event_id: str,
    request: Request,
    principal: ReadAttendees,
    status: Annotated[str | None, Query(description="CSV of statuses")] = None,
    email: Annotated[str | None, Query(max_length=320)] = None,
    ticket_class_id: Annotated[str | None, Query(max_length=64)] = None,
    q: Annotated[str | None, Query(max_length=200, description="Search name and email")] = None,
    updated_since: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    chosen = filters.parse(status, email, ticket_class_id, q, updated_since)
    plan = await web.read(
        request,
        lambda conn: export.prepare(conn, principal.organization_id, event_id, chosen),
    )
    return StreamingResponse(
        export.stream(lambda work: web.read(request, work), plan),
        media_type=CSV,
        headers={
            "Content-Disposition": f'attachment; filename="{plan.filename}"',
            "Cache-Control": "no-store",
        },
    )
