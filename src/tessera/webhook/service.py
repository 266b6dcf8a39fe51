"""Webhook endpoints: register, change, rotate the secret, delete; the delivery log; redeliver."""

from __future__ import annotations

from typing import Any

from tessera import errors
from tessera.attendee import remembered
from tessera.db import Connection, Row
from tessera.kit import clock, ids, jsonutil
from tessera.kit.pagination import Page, envelope
from tessera.outbox import repository as outbox
from tessera.webhook import destination, repository, signing
from tessera.webhook.emit import KIND
from tessera.webhook.schemas import WebhookEndpointCreate, WebhookEndpointUpdate

HOUR = 3600 * 1_000_000
# How long the secret before a rotation still signs deliveries (a second signature).
ROTATION_GRACE = 24 * HOUR


def present(row: Row | dict[str, Any], *, secret: str | None = None) -> dict[str, Any]:
    shown = {
        "id": row["id"],
        "url": row["url"],
        "events": jsonutil.loads(row["events"]),
        "enabled": bool(row["enabled"]),
        "description": row["description"],
        "created_at": clock.iso(row["created_at"]),
        "updated_at": clock.iso(row["updated_at"]),
    }
    if secret is not None:
        shown["secret"] = secret
    return shown


def present_delivery(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "endpoint_id": row["endpoint_id"],
        "webhook_id": row["webhook_id"],
        "event_type": row["event_type"],
        "attempt": row["attempt"],
        "status": row["status"],
        "response_status": row["response_status"],
        "duration_ms": row["duration_ms"],
        "error": row["error"],
        "next_attempt_at": clock.iso(row["next_attempt_at"]),
        "created_at": clock.iso(row["created_at"]),
    }


async def destination_refusal(url: str | None, allow_private: bool) -> errors.AppError | None:
    """The 400 for a URL whose host is a loopback, private or link-local address, or None.

    Resolves the host, so call it before opening the transaction: a slow DNS answer must not
    hold the database.
    """
    if url is None:
        return None
    reason = await destination.refusal(url, allow_private)
    return None if reason is None else errors.field_error("url", f"is not allowed: {reason}")


async def _endpoint(conn: Connection, organization_id: str, endpoint_id: str) -> Row:
    row = await repository.get(conn, organization_id, endpoint_id)
    if row is None:
        raise errors.webhook_endpoint_not_found()
    return row


async def create_endpoint(
    conn: Connection, organization_id: str, body: WebhookEndpointCreate, now: int
) -> dict[str, Any]:
    """Register an endpoint; the answer is the only place its secret appears (with rotate)."""
    secret = signing.new_secret()
    values: dict[str, Any] = {
        "id": ids.webhook_endpoint_id(),
        "url": body.url,
        "events": jsonutil.dumps(body.events).decode(),
        "enabled": body.enabled,
        "description": body.description,
        "secret": secret,
        "created_at": now,
        "updated_at": now,
    }
    await repository.insert(conn, organization_id, values)
    if body.enabled:
        _creates_emit_from_now_on(conn, organization_id)
    return present(values, secret=secret)


async def get_endpoint(conn: Connection, organization_id: str, endpoint_id: str) -> dict[str, Any]:
    return present(await _endpoint(conn, organization_id, endpoint_id))


async def list_endpoints(conn: Connection, organization_id: str, page: Page) -> dict[str, Any]:
    rows, total = await repository.list_page(conn, organization_id, page.page_size, page.offset)
    return envelope([present(row) for row in rows], total, page)


async def update_endpoint(
    conn: Connection,
    organization_id: str,
    endpoint_id: str,
    body: WebhookEndpointUpdate,
    now: int,
) -> dict[str, Any]:
    """Partial change of url, events, enabled, description. Queued messages follow the change:
    they are sent to the URL the endpoint has when they are delivered."""
    given = body.model_fields_set
    if not given:
        raise errors.BadRequest("At least one field is required", code="empty_update")
    for required in ("url", "events", "enabled"):
        if required in given and getattr(body, required) is None:
            raise errors.field_error(required, "may not be null")
    changes: dict[str, Any] = {"updated_at": now}
    for simple in ("url", "enabled", "description"):
        if simple in given:
            changes[simple] = getattr(body, simple)
    if "events" in given:
        changes["events"] = jsonutil.dumps(body.events).decode()
    if not await repository.update(conn, organization_id, endpoint_id, changes):
        raise errors.webhook_endpoint_not_found()
    if changes.get("enabled"):
        _creates_emit_from_now_on(conn, organization_id)
    return present(await _endpoint(conn, organization_id, endpoint_id))


def _creates_emit_from_now_on(conn: Connection, organization_id: str) -> None:
    """Once an enabled endpoint is committed, this process's Create Attendee forgets that the
    organization had none (``tessera.attendee.remembered``): its next create reads again, and
    emits, without first sending a statement that expects no endpoint."""
    conn.after_commit(lambda: remembered.forget_organization(organization_id))


async def rotate_secret(
    conn: Connection, organization_id: str, endpoint_id: str, now: int
) -> dict[str, Any]:
    """A new secret, shown once. The old one keeps signing (as a second signature) for 24 hours
    so that receivers can switch without rejecting deliveries in between."""
    row = await _endpoint(conn, organization_id, endpoint_id)
    secret = signing.new_secret()
    changes = {
        "secret": secret,
        "previous_secret": row["secret"],
        "previous_secret_expires_at": now + ROTATION_GRACE,
        "updated_at": now,
    }
    await repository.update(conn, organization_id, endpoint_id, changes)
    return present({**dict(row), **changes}, secret=secret)


async def delete_endpoint(
    conn: Connection, organization_id: str, endpoint_id: str
) -> dict[str, Any]:
    if not await repository.delete(conn, organization_id, endpoint_id):
        raise errors.webhook_endpoint_not_found()
    return {"deleted": True, "id": endpoint_id}


async def list_deliveries(
    conn: Connection, organization_id: str, endpoint_id: str, page: Page
) -> dict[str, Any]:
    """Every delivery attempt to the endpoint, newest first."""
    await _endpoint(conn, organization_id, endpoint_id)
    rows, total = await repository.list_deliveries(
        conn, organization_id, endpoint_id, page.page_size, page.offset
    )
    return envelope([present_delivery(row) for row in rows], total, page)


async def redeliver(
    conn: Connection, organization_id: str, endpoint_id: str, delivery_id: str, now: int
) -> dict[str, Any]:
    """Queue the message of a past attempt again, with the same body and the same webhook-id.

    Keeping the webhook-id lets a receiver that already processed the message drop the copy;
    the new delivery waits behind messages still pending for the same object.
    """
    endpoint = await _endpoint(conn, organization_id, endpoint_id)
    delivery = await repository.get_delivery(conn, organization_id, endpoint_id, delivery_id)
    message = None
    if delivery is not None:
        message = await outbox.find(conn, organization_id, delivery["outbox_id"])
    if delivery is None or message is None:
        raise errors.NotFound("Webhook delivery not found")
    if not endpoint["enabled"]:
        raise errors.Conflict(
            "Webhook endpoint is disabled; enable it before redelivering",
            code="webhook_endpoint_disabled",
        )
    payload = jsonutil.loads(message["payload"])
    payload["webhook_id"] = delivery["webhook_id"]
    await outbox.enqueue(
        conn,
        organization_id,
        KIND,
        message["topic"],
        payload,
        now,
        ordering_key=message["ordering_key"],
    )
    return {
        "endpoint_id": endpoint_id,
        "webhook_id": delivery["webhook_id"],
        "event_type": delivery["event_type"],
        "status": "queued",
    }
