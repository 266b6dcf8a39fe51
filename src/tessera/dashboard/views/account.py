"""Sign in, sign out, change password."""

from __future__ import annotations

import asyncio
import secrets

from fastapi import APIRouter, Request, Response

from tessera import errors, web
from tessera.account import passwords, sessions, signin
from tessera.account import service as accounts
from tessera.dashboard import access, pages
from tessera.dashboard.access import AnyRole, AnyRoleWrite, DashboardRoute
from tessera.db import Connection

router = APIRouter(route_class=DashboardRoute)


def _login_page(
    request: Request, next_url: str, email: str = "", error: str = "", status: int = 200
) -> Response:
    # Before sign-in there is no session to bind a CSRF token to: the form's token is paired
    # with a cookie instead (double submit), so another site cannot post a sign-in.
    # One token per browser, kept while it lives: two open sign-in tabs both work.
    token = request.cookies.get(access.LOGIN_CSRF_COOKIE, "")
    if not 40 <= len(token) <= 64 or not token.replace("-", "").replace("_", "").isalnum():
        token = secrets.token_urlsafe(32)
    response = pages.render(
        request,
        "login.html",
        status,
        csrf_token=token,
        next_url=next_url,
        email=email,
        error=error,
    )
    response.set_cookie(
        access.LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        **access.cookie_options(request, credential=False),
    )
    if request.headers.get("hx-request"):
        # An htmx call whose session ended was redirected here: load this page as a whole
        # page (with its ``next``), instead of swapping a sign-in form into a table.
        query = f"?{request.url.query}" if request.url.query else ""
        response.headers["HX-Redirect"] = f"{request.url.path}{query}"
    return response


@router.get("/login")
async def login_form(request: Request, next: str = "/dashboard") -> Response:
    return _login_page(request, access.safe_next(next))


@router.post("/login")
async def login(request: Request) -> Response:
    form = await pages.form(request)
    cookie = request.cookies.get(access.LOGIN_CSRF_COOKIE, "")
    presented = form.get("csrf_token")
    if not cookie or not presented or not secrets.compare_digest(cookie, presented):
        raise access.Forbidden("This sign-in form has expired. Reload the page and try again.")
    # The page asked for: the form's hidden field, or the address the form was posted to.
    next_url = access.safe_next(form.get("next") or request.query_params.get("next"))
    email = form.get("email").strip()
    client = request.client.host if request.client else "unknown"
    try:
        signed_in = await signin.sign_in(
            web.database(request), email, form.get("password"), client, web.now(request)
        )
    except signin.SignInFailed as failed:
        return _login_page(request, next_url, email, str(failed), 400)
    except errors.RateLimited as limited:
        response = _login_page(request, next_url, email, limited.message, 429)
        response.headers.update(limited.headers)
        return response
    # A session from before (even a valid one) ends: the new one has a fresh token.
    old = request.cookies.get(access.SESSION_COOKIE)
    if old:
        await web.write(request, lambda conn: sessions.end(conn, old, web.now(request)))
    response = pages.redirect(next_url)
    response.set_cookie(
        access.SESSION_COOKIE,
        signed_in.token,
        max_age=sessions.ABSOLUTE_TIMEOUT // 1_000_000,
        **access.cookie_options(request),
    )
    response.delete_cookie(access.LOGIN_CSRF_COOKIE, path=access.COOKIE_PATH)
    return response


@router.post("/logout")
async def logout(request: Request, viewer: AnyRoleWrite) -> Response:
    token = request.cookies.get(access.SESSION_COOKIE, "")
    await web.write(request, lambda conn: sessions.end(conn, token, web.now(request)))
    response = pages.redirect("/dashboard/login")
    response.delete_cookie(access.SESSION_COOKIE, path=access.COOKIE_PATH)
    return response


@router.get("/account/password")
async def password_form(request: Request, viewer: AnyRole, changed: int = 0) -> Response:
    return pages.render(request, "password.html", error="", done=bool(changed))


@router.post("/account/password")
async def change_password(request: Request, viewer: AnyRoleWrite) -> Response:
    """The current password is asked again; every other session of the user ends."""
    form = await pages.form(request)
    new = form.get("new_password")
    error = passwords.problem(new)
    if new != form.get("confirm_password"):
        error = "The two new passwords differ."
    user = await web.read(request, lambda conn: accounts.get_user(conn, viewer.user_id))
    ok = user is not None and await asyncio.to_thread(
        passwords.verify, user["password_hash"], form.get("current_password")[:1024]
    )
    if not ok:
        error = "The current password is not right."
    if error:
        if error.startswith("must"):
            error = f"The new password {error}."
        return pages.render(request, "password.html", 400, error=error, done=False)
    new_hash = await asyncio.to_thread(passwords.hash_password, new)
    now = web.now(request)

    async def work(conn: Connection) -> str:
        # Every session of the user ends, this one too; this browser gets a new one.
        await accounts.set_password(conn, viewer.email, new_hash, now)
        return await sessions.start(conn, viewer.user_id, viewer.organization_id, now)

    token = await web.write(request, work)
    response = pages.redirect("/dashboard/account/password?changed=1")
    response.set_cookie(
        access.SESSION_COOKIE,
        token,
        max_age=sessions.ABSOLUTE_TIMEOUT // 1_000_000,
        **access.cookie_options(request),
    )
    return response


@router.get("/account/organizations")
async def organizations(request: Request, viewer: AnyRole) -> Response:
    """The organizations of the signed-in user; switching starts a session in another one."""
    listed = await web.read(request, lambda conn: sessions.organizations(conn, viewer.user_id))
    return pages.render(request, "organizations.html", organizations=listed)


@router.post("/account/organizations/{organization_id}")
async def switch_organization(
    request: Request, organization_id: str, viewer: AnyRoleWrite
) -> Response:
    if organization_id == viewer.organization_id:
        return pages.redirect("/dashboard")  # already there: the session stays as it is
    token = request.cookies.get(access.SESSION_COOKIE, "")
    now = web.now(request)
    new_token = await web.write(
        request,
        lambda conn: sessions.switch(conn, token, viewer.user_id, organization_id, now),
    )
    response = pages.redirect("/dashboard")
    response.set_cookie(
        access.SESSION_COOKIE,
        new_token,
        max_age=sessions.ABSOLUTE_TIMEOUT // 1_000_000,
        **access.cookie_options(request),
    )
    return response
