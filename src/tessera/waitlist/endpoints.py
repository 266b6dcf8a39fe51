"""``/api/v1/events/{eventId}/waitlist``: the waitlist's entries, and how long offers last."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from tessera import errors, web
from tessera.auth.dependencies import require
from tessera.auth.service import Principal
from tessera.kit.http import data, json_response
from tessera.kit.pagination import PageParams, csv_values
from tessera.waitlist import queries
from tessera.waitlist.schemas import (
    WaitlistPage,
    WaitlistSettingsEnvelope,
    WaitlistSettingsUpdate,
)

router = APIRouter(prefix="/events/{event_id}", tags=["waitlist"])

ReadAttendees = Annotated[Principal, Depends(require("attendees", "read"))]
ReadEvents = Annotated[Principal, Depends(require("events", "read"))]
WriteEvents = Annotated[Principal, Depends(require("events", "write"))]


@router.get("/waitlist", response_model=WaitlistPage)
async def list_waitlist(
    event_id: str,
    request: Request,
    principal: ReadAttendees,
    page: PageParams,
    status: Annotated[str | None, Query(description="CSV of entry statuses")] = None,
    ticket_class_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """Entries in line order: waiting, offered, claimed, expired and left (all by default)."""
    statuses = None
    if status is not None and status.strip():
        try:
            statuses = csv_values(status, queries.STATUSES, ())
        except ValueError as exc:
            raise errors.ValidationFailed({"status": [str(exc)]}) from None
    result = await web.read(
        request,
        lambda conn: queries.list_entries(
            conn,
            principal.organization_id,
            event_id,
            page,
            statuses=statuses,
            class_id=ticket_class_id,
        ),
    )
    return json_response(result)


@router.get("/waitlist/settings", response_model=WaitlistSettingsEnvelope)
async def waitlist_settings(event_id: str, request: Request, principal: ReadEvents) -> Response:
    result = await web.read(
        request, lambda conn: queries.get_settings(conn, principal.organization_id, event_id)
    )
    return data(result)


@router.put("/waitlist/settings", response_model=WaitlistSettingsEnvelope)
async def change_waitlist_settings(
    event_id: str, body: WaitlistSettingsUpdate, request: Request, principal: WriteEvents
) -> Response:
    """How long a waitlist offer stays open, in hours (1..720; 48 by default)."""
    now = web.now(request)
    result = await web.write(
        request,
        lambda conn: queries.set_settings(
            conn, principal.organization_id, event_id, body.offer_hours, now
        ),
    )
    return data(result)
