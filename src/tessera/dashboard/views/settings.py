"""Organization settings: API keys, webhook endpoints (admins and owners), the team (owners)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError

from tessera import errors, web
from tessera.account import passwords
from tessera.account import service as accounts
from tessera.auth import scopes
from tessera.auth import service as auth
from tessera.dashboard import pages
from tessera.dashboard.access import DashboardRoute, Owner, OwnerWrite, Staff, StaffWrite
from tessera.db import Connection
from tessera.kit.pagination import Page
from tessera.webhook import service as webhooks
from tessera.webhook.emit import EVENT_TYPES
from tessera.webhook.schemas import WebhookEndpointCreate, WebhookEndpointUpdate

router = APIRouter(route_class=DashboardRoute)


# API keys ----------------------------------------------------------------------------------


async def _keys_page(
    request: Request, viewer: Any, status: int = 200, created: Any = None, error: str = ""
) -> Response:
    keys = await web.read(request, lambda conn: auth.list_api_keys(conn, viewer.organization_id))
    return pages.render(
        request,
        "api_keys.html",
        status,
        keys=keys,
        created=created,
        error=error,
        resources=scopes.RESOURCES,
        levels=scopes.LEVELS,
    )


@router.get("/api-keys")
async def api_keys(request: Request, viewer: Staff) -> Response:
    return await _keys_page(request, viewer)


@router.post("/api-keys")
async def create_key(request: Request, viewer: StaffWrite) -> Response:
    """The key is shown once, on the page this answers; only its hash is kept."""
    form = await pages.form(request)
    name = form.get("name").strip()
    chosen = {r: form.get(f"scope_{r}", "none") for r in scopes.RESOURCES}
    if not name or len(name) > 100:
        return await _keys_page(
            request, viewer, 400, error="Give the key a name (≤ 100 characters)."
        )
    if any(level not in scopes.LEVELS for level in chosen.values()):
        return await _keys_page(request, viewer, 400, error="Choose none, read or write.")
    created = await web.write(
        request,
        lambda conn: auth.create_api_key(
            conn, viewer.organization_id, name, chosen, web.now(request)
        ),
    )
    return await _keys_page(request, viewer, 201, created=created)


@router.post("/api-keys/{key_id}/revoke")
async def revoke_key(request: Request, key_id: str, viewer: StaffWrite) -> Response:
    await web.write(
        request,
        lambda conn: auth.revoke_organization_key(
            conn, viewer.organization_id, key_id, web.now(request)
        ),
    )
    return pages.redirect("/dashboard/api-keys")


# Webhook endpoints -------------------------------------------------------------------------


async def _webhooks_page(
    request: Request,
    viewer: Any,
    status: int = 200,
    created: Any = None,
    error: str = "",
    values: Any = None,
) -> Response:
    listed = await web.read(
        request,
        lambda conn: webhooks.list_endpoints(
            conn, viewer.organization_id, Page(page=1, page_size=100)
        ),
    )
    return pages.render(
        request,
        "webhooks.html",
        status,
        endpoints=listed["data"],
        created=created,
        error=error,
        event_types=EVENT_TYPES,
        values=values or {},
    )


@router.get("/webhooks")
async def webhook_list(request: Request, viewer: Staff) -> Response:
    return await _webhooks_page(request, viewer)


@router.post("/webhooks")
async def create_webhook(request: Request, viewer: StaffWrite) -> Response:
    form = await pages.form(request)
    values = {"url": form.get("url"), "description": form.get("description")}
    try:
        body = WebhookEndpointCreate.model_validate(
            {
                "url": form.get("url").strip(),
                "events": form.getlist("events"),
                "description": form.get("description").strip() or None,
            }
        )
    except ValidationError as invalid:
        problems = pages.field_errors(invalid)
        message = "; ".join(f"{k}: {v}" for k, v in problems.items())
        return await _webhooks_page(request, viewer, 400, error=message, values=values)
    refused = await webhooks.destination_refusal(
        body.url, request.app.state.settings.webhook_allow_private
    )
    if refused is not None:
        return await _webhooks_page(
            request, viewer, refused.status, error=refused.message, values=values
        )
    created = await web.write(
        request,
        lambda conn: webhooks.create_endpoint(conn, viewer.organization_id, body, web.now(request)),
    )
    return await _webhooks_page(request, viewer, 201, created=created)


@router.post("/webhooks/{endpoint_id}/enabled")
async def toggle_webhook(request: Request, endpoint_id: str, viewer: StaffWrite) -> Response:
    form = await pages.form(request)
    body = WebhookEndpointUpdate.model_validate({"enabled": form.get("enabled") == "true"})
    await web.write(
        request,
        lambda conn: webhooks.update_endpoint(
            conn, viewer.organization_id, endpoint_id, body, web.now(request)
        ),
    )
    return pages.redirect(f"/dashboard/webhooks/{endpoint_id}")


@router.get("/webhooks/{endpoint_id}")
async def webhook_page(
    request: Request, endpoint_id: str, viewer: Staff, redelivered: int = 0
) -> Response:
    async def load(conn: Connection) -> dict[str, Any]:
        endpoint = await webhooks.get_endpoint(conn, viewer.organization_id, endpoint_id)
        deliveries = await webhooks.list_deliveries(
            conn, viewer.organization_id, endpoint_id, Page(page=1, page_size=50)
        )
        return {"endpoint": endpoint, "deliveries": deliveries["data"]}

    data = await web.read(request, load)
    return pages.render(request, "webhook.html", **data, redelivered=bool(redelivered))


@router.post("/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver")
async def redeliver(
    request: Request, endpoint_id: str, delivery_id: str, viewer: StaffWrite
) -> Response:
    await web.write(
        request,
        lambda conn: webhooks.redeliver(
            conn, viewer.organization_id, endpoint_id, delivery_id, web.now(request)
        ),
    )
    return pages.redirect(f"/dashboard/webhooks/{endpoint_id}?redelivered=1")


# Team --------------------------------------------------------------------------------------


async def _team_page(
    request: Request, viewer: Any, status: int = 200, error: str = "", added: Any = None
) -> Response:
    members = await web.read(request, lambda conn: accounts.team(conn, viewer.organization_id))
    return pages.render(
        request,
        "team.html",
        status,
        members=members,
        error=error,
        added=added,
        roles=accounts.ROLES,
    )


@router.get("/team")
async def team(request: Request, viewer: Owner) -> Response:
    return await _team_page(request, viewer)


@router.post("/team")
async def add_member(request: Request, viewer: OwnerWrite) -> Response:
    """A new user gets a one-time password, shown once to the owner who added them."""
    form = await pages.form(request)
    password = passwords.generate()
    password_hash = await asyncio.to_thread(passwords.hash_password, password)
    try:
        added = await web.write(
            request,
            lambda conn: accounts.add_member(
                conn,
                viewer.organization_id,
                form.get("email"),
                form.get("role"),
                password_hash,
                web.now(request),
                name=form.get("name").strip() or None,
            ),
        )
    except errors.AppError as refused:
        message = "; ".join(f"{k} {v}" for k, v in pages.field_errors(refused).items())
        return await _team_page(request, viewer, refused.status, error=message)
    if added["created"]:
        added["password"] = password
    return await _team_page(request, viewer, 201, added=added)


@router.post("/team/{user_id}/role")
async def change_role(request: Request, user_id: str, viewer: OwnerWrite) -> Response:
    form = await pages.form(request)
    try:
        await web.write(
            request,
            lambda conn: accounts.change_role(
                conn, viewer.organization_id, user_id, form.get("role"), web.now(request)
            ),
        )
    except errors.NotFound:
        raise
    except errors.AppError as refused:
        return await _team_page(request, viewer, refused.status, error=refused.message)
    return pages.redirect("/dashboard/team")


@router.post("/team/{user_id}/remove")
async def remove_member(request: Request, user_id: str, viewer: OwnerWrite) -> Response:
    try:
        await web.write(
            request,
            lambda conn: accounts.remove_member(
                conn, viewer.organization_id, user_id, web.now(request)
            ),
        )
    except errors.NotFound:
        raise
    except errors.AppError as refused:
        return await _team_page(request, viewer, refused.status, error=refused.message)
    return pages.redirect("/dashboard/team")
