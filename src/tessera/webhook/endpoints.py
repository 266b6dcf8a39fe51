"""HTTP endpoints of /api/v1/webhook-endpoints: parse, authorize, call one service function."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from tessera import web
from tessera.auth.dependencies import require
from tessera.auth.service import Principal
from tessera.config import Settings
from tessera.db import Connection
from tessera.idempotency import runner
from tessera.kit.http import data, json_response
from tessera.kit.pagination import PageParams
from tessera.openapi import IDEMPOTENCY_KEY_PARAMETER
from tessera.webhook import service
from tessera.webhook.schemas import (
    RedeliveryEnvelope,
    WebhookDeliveryPage,
    WebhookEndpointCreate,
    WebhookEndpointDeleted,
    WebhookEndpointEnvelope,
    WebhookEndpointPage,
    WebhookEndpointSecretEnvelope,
    WebhookEndpointUpdate,
)

router = APIRouter(prefix="/webhook-endpoints", tags=["webhooks"])

ReadWebhooks = Annotated[Principal, Depends(require("webhooks", "read"))]
WriteWebhooks = Annotated[Principal, Depends(require("webhooks", "write"))]


def _allow_private(request: Request) -> bool:
    settings: Settings = request.app.state.settings
    return settings.webhook_allow_private


@router.post("", status_code=201, response_model=WebhookEndpointSecretEnvelope)
async def create_endpoint(
    body: WebhookEndpointCreate, request: Request, principal: WriteWebhooks
) -> Response:
    """Register an endpoint. The response holds its signing `secret`: the only time it is shown
    (besides rotate-secret)."""
    now = web.now(request)
    # Resolved outside the transaction (DNS may be slow), raised inside `work` so that an
    # idempotent replay still answers the stored response.
    refused = await service.destination_refusal(body.url, _allow_private(request))

    async def work(conn: Connection) -> runner.Outcome:
        if refused is not None:
            raise refused
        created = await service.create_endpoint(conn, principal.organization_id, body, now)
        location = f"/api/v1/webhook-endpoints/{created['id']}"
        return runner.Outcome(201, {"data": created}, {"Location": location})

    return await runner.run(request, principal, work)


# Rotate and redeliver are not 201 creations, yet a retry must not act twice: keyed too.
KEYED = {"parameters": [IDEMPOTENCY_KEY_PARAMETER]}


@router.get("", response_model=WebhookEndpointPage)
async def list_endpoints(request: Request, principal: ReadWebhooks, page: PageParams) -> Response:
    result = await web.read(
        request, lambda conn: service.list_endpoints(conn, principal.organization_id, page)
    )
    return json_response(result)


@router.get("/{endpoint_id}", response_model=WebhookEndpointEnvelope)
async def get_endpoint(endpoint_id: str, request: Request, principal: ReadWebhooks) -> Response:
    found = await web.read(
        request,
        lambda conn: service.get_endpoint(conn, principal.organization_id, endpoint_id),
    )
    return data(found)


@router.patch("/{endpoint_id}", response_model=WebhookEndpointEnvelope)
async def update_endpoint(
    endpoint_id: str, body: WebhookEndpointUpdate, request: Request, principal: WriteWebhooks
) -> Response:
    now = web.now(request)
    refused = await service.destination_refusal(body.url, _allow_private(request))
    if refused is not None:
        raise refused
    updated = await web.write(
        request,
        lambda conn: service.update_endpoint(
            conn, principal.organization_id, endpoint_id, body, now
        ),
    )
    return data(updated)


@router.delete("/{endpoint_id}", response_model=WebhookEndpointDeleted)
async def delete_endpoint(endpoint_id: str, request: Request, principal: WriteWebhooks) -> Response:
    result = await web.write(
        request,
        lambda conn: service.delete_endpoint(conn, principal.organization_id, endpoint_id),
    )
    return json_response(result)


@router.post(
    "/{endpoint_id}/rotate-secret",
    response_model=WebhookEndpointSecretEnvelope,
    openapi_extra=KEYED,
)
async def rotate_secret(endpoint_id: str, request: Request, principal: WriteWebhooks) -> Response:
    """A new signing secret, shown once. The previous one still signs for 24 hours (a second
    `v1,` signature), so receivers can switch without losing deliveries."""
    now = web.now(request)

    async def work(conn: Connection) -> runner.Outcome:
        rotated = await service.rotate_secret(conn, principal.organization_id, endpoint_id, now)
        return runner.Outcome(200, {"data": rotated})

    return await runner.run(request, principal, work)


@router.get("/{endpoint_id}/deliveries", response_model=WebhookDeliveryPage)
async def list_deliveries(
    endpoint_id: str, request: Request, principal: ReadWebhooks, page: PageParams
) -> Response:
    """Every delivery attempt, newest first: status, response code, duration, next attempt."""
    result = await web.read(
        request,
        lambda conn: service.list_deliveries(conn, principal.organization_id, endpoint_id, page),
    )
    return json_response(result)


@router.post(
    "/{endpoint_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=RedeliveryEnvelope,
    openapi_extra=KEYED,
)
async def redeliver(
    endpoint_id: str, delivery_id: str, request: Request, principal: WriteWebhooks
) -> Response:
    """Queue the message of that attempt again: same body, same `webhook-id` (receivers that
    already have it can drop the copy)."""
    now = web.now(request)

    async def work(conn: Connection) -> runner.Outcome:
        queued = await service.redeliver(
            conn, principal.organization_id, endpoint_id, delivery_id, now
        )
        return runner.Outcome(202, {"data": queued})

    return await runner.run(request, principal, work)
