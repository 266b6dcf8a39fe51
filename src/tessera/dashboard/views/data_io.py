"""An event's attendees in and out (SPEC §8 with §10): the export button and the import page.

Both run the API's own code: the export streams :mod:`tessera.attendee_io.export` with the
attendee table's current filters; the import previews the file with the API's dry run
(:func:`tessera.attendee_io.importer.run`, nothing written), then its confirm step runs the
real import through :func:`tessera.attendee_io.keyed.run`, the API's exactly-once import under
an idempotency key. The preview page hands out that key with the file, so a double-clicked
confirm (or a browser retry) imports once: the second submit waits for the first and shows its
outcome. The key is scoped to the signed-in user, as the manual add's is. Owners and admins only.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import secrets
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from tessera import errors, web
from tessera.attendee import filters
from tessera.attendee_io import export, importer, keyed
from tessera.dashboard import pages
from tessera.dashboard.access import DashboardRoute, Staff, StaffWrite
from tessera.dashboard.views.attendees import STATUS_FILTERS
from tessera.db import Connection
from tessera.event import service as events
from tessera.kit import jsonutil

router = APIRouter(route_class=DashboardRoute)

# How long a second confirm waits for the first one's import (10,000 rows take seconds).
WAIT_FOR_FIRST = 60.0
MAX_NAME = 200


@router.get("/events/{event_id}/attendees/export")
async def export_attendees(
    request: Request,
    event_id: str,
    viewer: Staff,
    q: str = "",
    status: str = "attending",
    ticket_class_id: str = "",
) -> Response:
    """The table's current filters (search, status, class) as the API's export: the same
    columns, quoting and streaming. The table's sort is a view choice; the file keeps the
    export's own order (oldest first)."""
    chosen = filters.Filters(
        statuses=tuple(STATUS_FILTERS.get(status, STATUS_FILTERS["attending"])[1]),
        ticket_class_id=ticket_class_id.strip()[:64] or None,
        query=q.strip()[:200] or None,
    )
    organization_id = viewer.organization_id
    plan = await web.read(
        request, lambda conn: export.prepare(conn, organization_id, event_id, chosen)
    )
    return StreamingResponse(
        export.stream(lambda work: web.read(request, work), plan),
        media_type="text/csv; charset=utf-8",
        headers={
            **pages.SECURITY_HEADERS,
            "Content-Disposition": f'attachment; filename="{plan.filename}"',
        },
    )


async def _event(request: Request, organization_id: str, event_id: str) -> dict[str, Any]:
    async def load(conn: Connection) -> dict[str, Any]:
        return await events.get_event(conn, organization_id, event_id)

    return await web.read(request, load)


async def _upload_page(
    request: Request, viewer: Any, event_id: str, message: str = "", status: int = 200
) -> Response:
    event = await _event(request, viewer.organization_id, event_id)
    return pages.render(request, "import.html", status, event=event, step="upload", message=message)


@router.get("/events/{event_id}/attendees/import")
async def import_page(request: Request, event_id: str, viewer: Staff) -> Response:
    return await _upload_page(request, viewer, event_id)


def _refusal(error: errors.AppError) -> str:
    """A whole-file refusal (encoding, size, columns) in the API's words, with its line."""
    line = (error.details or {}).get("line")
    return f"{error.message} (line {line})." if line else f"{error.message}."


@router.post("/events/{event_id}/attendees/import/preview")
async def preview_import(request: Request, event_id: str, viewer: StaffWrite) -> Response:
    """The API's dry run of the uploaded file: a row per result, nothing written."""
    form = await pages.form(request)
    raw = form.files.get("file", b"")
    name = (form.file_names.get("file") or "attendees.csv")[:MAX_NAME]
    if not raw:
        return await _upload_page(request, viewer, event_id, "Choose a CSV file to import.", 400)
    db, clock = web.database(request), request.app.state.clock
    try:
        result = await importer.run(db, clock, viewer.organization_id, event_id, raw, dry_run=True)
    except errors.NotFound:
        raise
    except errors.AppError as refused:
        return await _upload_page(request, viewer, event_id, _refusal(refused), refused.status)
    event = await _event(request, viewer.organization_id, event_id)
    return pages.render(
        request,
        "import.html",
        event=event,
        step="preview",
        message="",
        result=result,
        file_name=name,
        file_data=base64.b64encode(raw).decode(),
        idempotency_key="dash_import_" + secrets.token_urlsafe(24),
    )


@router.post("/events/{event_id}/attendees/import/confirm")
async def confirm_import(request: Request, event_id: str, viewer: StaffWrite) -> Response:
    """The real import of the previewed file, exactly once under the preview's key."""
    form = await pages.form(request)
    key = form.get("idempotency_key")
    try:
        raw = base64.b64decode(form.get("file_data"), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if not raw or not key.startswith("dash_import_") or len(key) > 255:
        return await _upload_page(
            request, viewer, event_id, "This import form is incomplete: upload the file again.", 400
        )
    fingerprint = jsonutil.fingerprint(
        "POST",
        f"/api/v1/events/{event_id}/attendees/import",
        {"dry_run": False, "sha256": hashlib.sha256(raw).hexdigest()},
    )
    scoped = keyed.Key(f"user:{viewer.user_id}", key, fingerprint)
    db, clock = web.database(request), request.app.state.clock
    deadline = asyncio.get_running_loop().time() + WAIT_FOR_FIRST
    while True:
        try:
            answer = await keyed.run(db, clock, viewer.organization_id, event_id, raw, scoped)
            break
        except errors.AppError as refused:
            if (
                refused.code == "idempotent_request_in_progress"
                and asyncio.get_running_loop().time() < deadline
            ):
                await asyncio.sleep(0.1)  # the first confirm is importing: take its outcome
                continue
            if refused.status == 404:
                raise
            return await _upload_page(request, viewer, event_id, _refusal(refused), refused.status)
    body = jsonutil.loads(answer.body)
    if answer.status == 404:
        raise errors.event_not_found()
    event = await _event(request, viewer.organization_id, event_id)
    return pages.render(
        request,
        "import.html",
        event=event,
        step="done",
        message="",
        result=body,
        file_name=(form.get("file_name") or "attendees.csv")[:MAX_NAME],
    )
