"""Request and response schemas of the webhook-endpoints API."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator

from tessera.kit.pagination import Pagination
from tessera.kit.schema import RequestModel
from tessera.webhook.destination import MAX_URL_LENGTH, check_syntax
from tessera.webhook.emit import EVENT_TYPES

Url = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_URL_LENGTH,
        examples=["https://example.com/tessera-webhooks"],
        description="http:// or https://; hosts on loopback, private or link-local addresses"
        " are refused unless the server sets TESSERA_WEBHOOK_ALLOW_PRIVATE",
    ),
]
Events = Annotated[
    list[str],
    Field(
        max_length=len(EVENT_TYPES) * 4,
        description=f"Event types to receive; empty means all of: {', '.join(EVENT_TYPES)}",
        examples=[["attendee.created", "attendee.checked_in"]],
    ),
]
Description = Annotated[str, Field(max_length=1000)]


def _events(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    unknown = [item for item in value if item not in EVENT_TYPES]
    if unknown:
        raise ValueError(
            f"unknown event type(s) {', '.join(unknown)}; allowed: {', '.join(EVENT_TYPES)}"
        )
    return list(dict.fromkeys(value))


def _url(value: str | None) -> str | None:
    return None if value is None else check_syntax(value)


class WebhookEndpointCreate(RequestModel):
    url: Url
    events: Events = Field(default_factory=list)
    enabled: bool = True
    description: Description | None = None

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        return _url(value)

    @field_validator("events")
    @classmethod
    def _check_events(cls, value: list[str] | None) -> list[str] | None:
        return _events(value)


class WebhookEndpointUpdate(RequestModel):
    url: Url | None = None
    events: Events | None = None
    enabled: bool | None = None
    description: Description | None = None

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        return _url(value)

    @field_validator("events")
    @classmethod
    def _check_events(cls, value: list[str] | None) -> list[str] | None:
        return _events(value)


# Response schemas: documentation of the shape (OpenAPI); the service renders plain dicts.
class WebhookEndpointOut(BaseModel):
    id: str
    url: str
    events: list[str]
    enabled: bool
    description: str | None
    created_at: str
    updated_at: str


class WebhookEndpointWithSecret(WebhookEndpointOut):
    secret: str = Field(
        description="whsec_ + base64 of the signing key. Shown only here: store it now.",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )


class WebhookEndpointEnvelope(BaseModel):
    data: WebhookEndpointOut


class WebhookEndpointSecretEnvelope(BaseModel):
    data: WebhookEndpointWithSecret


class WebhookEndpointPage(BaseModel):
    data: list[WebhookEndpointOut]
    pagination: Pagination


class WebhookEndpointDeleted(BaseModel):
    deleted: bool
    id: str


class WebhookDeliveryOut(BaseModel):
    id: str
    endpoint_id: str
    webhook_id: str = Field(description="The webhook-id header; the same on every attempt")
    event_type: str
    attempt: int
    status: Literal["succeeded", "failed"]
    response_status: int | None
    duration_ms: int | None
    error: str | None
    next_attempt_at: str | None = Field(description="When the next attempt is due; null if none")
    created_at: str


class WebhookDeliveryPage(BaseModel):
    data: list[WebhookDeliveryOut]
    pagination: Pagination


class RedeliveryOut(BaseModel):
    endpoint_id: str
    webhook_id: str
    event_type: str
    status: Literal["queued"]


class RedeliveryEnvelope(BaseModel):
    data: RedeliveryOut
