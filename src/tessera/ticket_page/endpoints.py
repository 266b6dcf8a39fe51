"""``GET /t/{payment_id}``: the public ticket page (HTML), and its ``event.ics``.

No API key: the payment ID in the URL is the secret. So the responses are never cached, never
framed, and never leak the URL to another site through a Referer header.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from tessera import web
from tessera.ticket_page import calendar, render, service

router = APIRouter(tags=["ticket page"])

SECURITY_HEADERS = {
    "Content-Security-Policy": render.CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
}


def _html(content: str, status: int = 200) -> Response:
    return HTMLResponse(content, status_code=status, headers=SECURITY_HEADERS)


def _file_name(event_name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", event_name).strip("-").lower()[:60].strip("-")
    return f"{slug or 'event'}.ics"


@router.get("/t/{payment_id}", response_class=HTMLResponse)
async def ticket_page(payment_id: str, request: Request) -> Response:
    """The payment's tickets as QR codes; void tickets without one. Unknown payment → 404."""
    page = await web.read(request, lambda conn: service.load(conn, payment_id))
    if page is None:
        return _html(render.not_found(), 404)
    return _html(render.ticket_page(page))


@router.get(
    "/t/{payment_id}/event.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}},
)
async def ticket_page_calendar(payment_id: str, request: Request) -> Response:
    """The event as an iCalendar file, to add it to a calendar."""
    page = await web.read(request, lambda conn: service.load(conn, payment_id))
    if page is None:
        return _html(render.not_found(), 404)
    content = calendar.build_ics(page, request.app.state.settings.base_url, web.now(request))
    return Response(
        content,
        media_type="text/calendar; charset=utf-8",
        headers={
            **SECURITY_HEADERS,
            "Content-Disposition": f'attachment; filename="{_file_name(page.event.name)}"',
        },
    )
