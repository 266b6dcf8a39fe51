"""Rendering dashboard pages: the template environment, the security headers, forms.

The Content-Security-Policy allows scripts and styles only from our own origin (no inline
script, no inline style, no eval), so an injected tag does nothing even if escaping failed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tessera.dashboard import multipart
from tessera.kit import templating
from tessera.kit.timezones import zone

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; media-src 'self' blob:; object-src 'none'; base-uri 'none';"
    " form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
    # The check-in page asks for the camera; nothing else ever may.
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
}
MAX_FORM = 64 * 1024
# The import page's upload (a file of at most 5 MiB, SPEC §10) and its confirm step, which
# carries the file back base64-encoded: room for both, and a little for the other fields.
MAX_UPLOAD_FORM = 7 * 1024 * 1024 + 64 * 1024

_env = templating.environment("tessera.dashboard")

STATUS_LABELS = {
    "valid": "Valid",
    "checked_in": "Checked in",
    "pending_approval": "Pending approval",
    "invited": "Invited",
    "rejected": "Rejected",
    "deleted": "Deleted",
}


def local_time(micros: int | None, timezone: str = "UTC", fmt: str = "%b %d, %Y %H:%M") -> str:
    """A stored instant as wall time in ``timezone`` (the event's), for people."""
    if micros is None:
        return ""
    instant = datetime.fromtimestamp(micros / 1_000_000, tz=UTC)
    return instant.astimezone(_zone(timezone)).strftime(fmt)


def _zone(name: str) -> ZoneInfo:
    try:
        return zone(name)
    except Exception:
        return ZoneInfo("UTC")


def iso_local(iso: str | None, timezone: str = "UTC", fmt: str = "%b %d, %Y %H:%M") -> str:
    if not iso:
        return ""
    instant = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return instant.astimezone(_zone(timezone)).strftime(fmt)


_env.filters["local_time"] = local_time
_env.filters["iso_local"] = iso_local
_env.filters["status_label"] = lambda status: STATUS_LABELS.get(status, status)
_env.globals["STATUS_LABELS"] = STATUS_LABELS


def render(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    viewer = getattr(request.state, "viewer", None)
    html = _env.get_template(template).render(
        viewer=viewer,
        csrf_token=context.pop("csrf_token", viewer.csrf_token if viewer else ""),
        path=request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def redirect(location: str) -> Response:
    return RedirectResponse(location, status_code=303, headers=SECURITY_HEADERS)


class Form:
    """A submitted form: first values by name, all values with :meth:`getlist`. Pages send
    ``application/x-www-form-urlencoded``; the import page sends ``multipart/form-data``,
    whose files are in :attr:`files` (name → bytes)."""

    def __init__(
        self,
        fields: dict[str, list[str]],
        files: dict[str, bytes] | None = None,
        file_names: dict[str, str] | None = None,
    ) -> None:
        self.fields = fields
        self.files = files or {}
        self.file_names = file_names or {}

    def get(self, name: str, default: str = "") -> str:
        values = self.fields.get(name)
        return values[0] if values else default

    def getlist(self, name: str) -> list[str]:
        return self.fields.get(name, [])

    def has(self, name: str) -> bool:
        return name in self.fields

    def checked(self, name: str) -> bool:
        """A checkbox: a browser sends "on" when ticked and nothing otherwise; a script may
        send true/false, 1/0, on/off, yes/no."""
        return name in self.fields and self.get(name).strip().lower() not in (
            "",
            "false",
            "0",
            "off",
            "no",
        )


async def form(request: Request) -> Form:
    """The request's form, parsed once per request (the CSRF check reads it first)."""
    cached = getattr(request.state, "dashboard_form", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    body = await request.body()
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    fields: dict[str, list[str]] = {}
    if content_type == "application/x-www-form-urlencoded" and len(body) <= MAX_FORM:
        fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    elif content_type == "multipart/form-data" and len(body) <= MAX_UPLOAD_FORM:
        parsed = multipart.parse(request.headers.get("content-type", ""), body)
        request.state.dashboard_form = parsed
        return parsed
    parsed = Form(fields)
    request.state.dashboard_form = parsed
    return parsed


def field_errors(exc: Exception) -> dict[str, str]:
    """A pydantic ValidationError or an AppError's fieldErrors as {field: first message}."""
    from pydantic import ValidationError

    from tessera.errors import AppError

    found: dict[str, str] = {}
    if isinstance(exc, ValidationError):
        for error in exc.errors():
            loc = [str(part) for part in error["loc"] if not str(part)[:1].isupper()]
            name = loc[-1] if loc else "form"
            found.setdefault(name, str(error["msg"]).removeprefix("Value error, "))
    elif isinstance(exc, AppError):
        for name, messages in ((exc.details or {}).get("fieldErrors") or {}).items():
            found.setdefault(str(name).split(".")[-1], messages[0] if messages else "is invalid")
        if not found:
            found["form"] = exc.message
    return found
