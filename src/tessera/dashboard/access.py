"""Who may see a dashboard page: the session, the role, the CSRF token, and the HTML answer to
each refusal.

Every dashboard route uses :class:`DashboardRoute`, so a refusal raised anywhere in a view or
its dependencies becomes a page: no session → 303 to the sign-in page; a role that does not
allow the page, or a state-changing request without a valid CSRF token → 403; anything not
found (including another organization's object, which looks exactly like a missing one) → 404.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from tessera import errors, web
from tessera.account import sessions
from tessera.account.sessions import Viewer
from tessera.dashboard import pages

SESSION_COOKIE = "tessera_session"
LOGIN_CSRF_COOKIE = "tessera_login_csrf"
CSRF_HEADER = "x-csrf-token"
COOKIE_PATH = "/dashboard"


class SignInRequired(Exception):
    pass


class Forbidden(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


def safe_next(target: str | None) -> str:
    """Only a path inside the dashboard; never another site (``//host``, ``/\\host``)."""
    if (
        not target
        or not target.startswith("/dashboard")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 0x20 for c in target)
    ):
        return "/dashboard"
    return target


def login_url(request: Request) -> str:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        here = request.url.path
    return f"/dashboard/login?next={quote(safe_next(here), safe='/')}"


class DashboardRoute(APIRoute):
    """Turns refusals into pages (see the module's docstring)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired:
                return pages.redirect(login_url(request))
            except Forbidden as refused:
                return pages.render(
                    request, "error.html", 403, title="Forbidden", message=refused.reason
                )
            except errors.NotFound:
                return not_found(request)
            except RequestValidationError:
                return pages.render(
                    request,
                    "error.html",
                    400,
                    title="Bad request",
                    message="The address is not valid.",
                )
            except errors.AppError as error:
                return pages.render(
                    request, "error.html", error.status, title="Not done", message=error.message
                )

        return handle


def not_found(request: Request) -> Response:
    """The one 404 page: a missing object and another organization's look the same."""
    return pages.render(
        request,
        "error.html",
        404,
        title="Not found",
        message="This page does not exist, or it is not yours to see.",
    )


async def current_viewer(request: Request) -> Viewer:
    token = request.cookies.get(SESSION_COOKIE, "")
    if not token:
        raise SignInRequired()
    now = web.now(request)
    loaded = await web.read(request, lambda conn: sessions.load(conn, token, now))
    if loaded is None:
        raise SignInRequired()
    viewer, touch_due = loaded
    if touch_due:
        await web.write(request, lambda conn: sessions.touch(conn, viewer.session_hash, now))
    request.state.viewer = viewer
    return viewer


async def check_csrf(request: Request, expected: str) -> None:
    """A state-changing request carries the session's token (form field or htmx header)."""
    form = await pages.form(request)
    presented = request.headers.get(CSRF_HEADER) or form.get("csrf_token")
    if (
        not presented
        or not expected
        or not hmac.compare_digest(presented.encode(), expected.encode())
    ):
        raise Forbidden(
            "This form has expired or did not come from this site. Reload the page and try again."
        )


ROLE_NAMES = {"owner": "owners", "admin": "admins", "door": "door staff"}


def member(*roles: str, write: bool = False) -> Callable[[Request], Awaitable[Viewer]]:
    """A dependency: a signed-in viewer whose role is one of ``roles``; with ``write``, also a
    valid CSRF token (checked before anything is written)."""

    async def dependency(request: Request) -> Viewer:
        viewer = await current_viewer(request)
        if write:
            await check_csrf(request, viewer.csrf_token)
        if viewer.role not in roles:
            allowed = ", ".join(ROLE_NAMES[r] for r in roles)
            raise Forbidden(f"This page is for {allowed}.")
        return viewer

    return dependency


ALL = ("owner", "admin", "door")
STAFF = ("owner", "admin")

AnyRole = Annotated[Viewer, Depends(member(*ALL))]
AnyRoleWrite = Annotated[Viewer, Depends(member(*ALL, write=True))]
Staff = Annotated[Viewer, Depends(member(*STAFF))]
StaffWrite = Annotated[Viewer, Depends(member(*STAFF, write=True))]
Owner = Annotated[Viewer, Depends(member("owner"))]
OwnerWrite = Annotated[Viewer, Depends(member("owner", write=True))]


def cookie_options(request: Request, *, credential: bool = True) -> dict[str, Any]:
    """``Secure`` (when ``TESSERA_BASE_URL`` is https) goes on the credential, the session
    cookie. The sign-in form's anti-forgery nonce is no credential (it only has to equal the
    form's hidden field), and a Secure one would make sign-in impossible wherever the site is
    reached over plain http (a health check, a test, a proxy that ends TLS before us)."""
    secure = credential and str(request.app.state.settings.base_url).startswith("https://")
    return {"httponly": True, "samesite": "Lax", "secure": secure, "path": COOKIE_PATH}
