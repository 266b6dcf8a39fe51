"""Response and request schemas of the waitlist API."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from tessera.kit.pagination import Pagination
from tessera.kit.schema import RequestModel

EntryStatus = Literal["waiting", "offered", "claimed", "expired", "left"]


class WaitlistEntryOut(BaseModel):
    id: str
    ticket_class_id: str
    email: str
    first_name: str | None
    last_name: str | None
    status: EntryStatus
    position: int | None  # place in its class's line (1 = next), while waiting or offered
    offered_at: str | None
    offer_expires_at: str | None
    attendee_id: str | None
    created_at: str


class WaitlistPage(BaseModel):
    data: list[WaitlistEntryOut]
    pagination: Pagination


class WaitlistSettings(BaseModel):
    offer_hours: int


class WaitlistSettingsEnvelope(BaseModel):
    data: WaitlistSettings


class WaitlistSettingsUpdate(RequestModel):
    offer_hours: Annotated[int, Field(ge=1, le=720, description="How long an offer stays open")]
