"""HTTP endpoints of /api/v1/events/{eventId}/attendees/export and /import (SPEC §10).

Included before the attendees router: ``/attendees/export`` must not be taken for an
attendee ID.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from tessera import errors, web
from tessera.attendee import filters
from tessera.attendee_io import export, importer, keyed
from tessera.attendee_io.schemas import ImportResult
from tessera.auth.dependencies import require
from tessera.auth.service import Principal
from tessera.idempotency import runner
from tessera.kit import jsonutil
from tessera.kit.http import JSON, json_response

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


_CSV_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
        "description": "UTF-8 CSV (a byte-order mark is fine), at most 10,000 rows and 5 MiB",
    }
}
_UTF8 = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})


def _charset_is_utf8(request: Request) -> None:
    for part in request.headers.get("content-type", "").split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in _UTF8:
            raise errors.UnsupportedMediaType(
                "An import file must be UTF-8: save it as CSV UTF-8 and send it with"
                " Content-Type: text/csv",
                code="invalid_encoding",
            )


@router.post("/import", response_model=ImportResult, openapi_extra=_CSV_BODY)
async def import_attendees(
    event_id: str,
    request: Request,
    principal: WriteAttendees,
    dry_run: Annotated[bool, Query(description="Check every row, write nothing")] = False,
) -> Response:
    _charset_is_utf8(request)
    raw = await request.body()
    key = runner.idempotency_key(request)
    db, clock = web.database(request), request.app.state.clock
    organization_id = principal.organization_id
    if key is None or dry_run:
        result = await importer.run(db, clock, organization_id, event_id, raw, dry_run=dry_run)
        return json_response(result)
    fingerprint = jsonutil.fingerprint(
        "POST", request.url.path, {"dry_run": False, "sha256": hashlib.sha256(raw).hexdigest()}
    )
    prefetch = getattr(request.state, "idempotency_prefetch", None)
    answer = await keyed.run(
        db,
        clock,
        organization_id,
        event_id,
        raw,
        keyed.Key(principal.api_key_id, key, fingerprint),
        prefetched=prefetch[1] if prefetch is not None and prefetch[0] == key else None,
    )
    headers = {"Idempotent-Replay": "true"} if answer.replayed else None
    return Response(answer.body, answer.status, media_type=JSON, headers=headers)
