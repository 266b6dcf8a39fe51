"""Request and response schemas of the events API."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, Discriminator, Field, Tag, field_validator

from tessera.kit.pagination import Pagination
from tessera.kit.schema import Amount, RequestModel
from tessera.kit.timezones import zone

_CURRENCY = re.compile(r"^[A-Za-z]{3}$")


class EventTimeIn(RequestModel):
    utc: Annotated[str, Field(min_length=1, max_length=64, examples=["2027-07-15T18:00"])]
    timezone: Annotated[str, Field(min_length=1, max_length=64, examples=["America/New_York"])]

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zone(value)
        return value


class VenueIn(RequestModel):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    address: Annotated[str | None, Field(max_length=300)] = None
    city: Annotated[str | None, Field(max_length=120)] = None
    state: Annotated[str | None, Field(max_length=120)] = None
    country: Annotated[str | None, Field(max_length=120)] = None


def _location_kind(value: object) -> str:
    return "Venue" if isinstance(value, dict | VenueIn) else "Text"


# Discriminated, so a venue object with a mistake reports only the venue's errors (not also "must
# be a string"). The tags are capitalized: the error handler leaves them out of field paths.
Location = Annotated[
    Annotated[Annotated[str, Field(min_length=1, max_length=500)], Tag("Text")]
    | Annotated[VenueIn, Tag("Venue")],
    Discriminator(_location_kind),
]


def _currency(value: str | None) -> str | None:
    if value is not None and not _CURRENCY.match(value):
        raise ValueError("must be a three-letter ISO-4217 code, e.g. usd")
    return None if value is None else value.lower()


class EventCreate(RequestModel):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str | None, Field(max_length=10_000)] = None
    start: EventTimeIn
    end: EventTimeIn | None = None
    location: Location = Field(
        description="A place (text or a venue object), or an https:// URL for a virtual event"
    )
    currency: str = "usd"
    capacity: Annotated[int, Field(ge=0, le=10_000_000)] = 0
    ticket_price: Amount = Field(default=0)  # type: ignore[assignment]
    require_approval: bool = False
    hidden: bool = False

    @field_validator("currency")
    @classmethod
    def _check_currency(cls, value: str | None) -> str | None:
        return _currency(value)


class EventUpdate(RequestModel):
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    description: Annotated[str | None, Field(max_length=10_000)] = None
    start: EventTimeIn | None = None
    end: EventTimeIn | None = None
    location: Location | None = None
    currency: str | None = None
    capacity: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    status: Literal["active", "inactive"] | None = None
    registration_status: Literal["open", "closed"] | None = None
    require_approval: bool | None = None
    hidden: bool | None = None

    @field_validator("currency")
    @classmethod
    def _check_currency(cls, value: str | None) -> str | None:
        return _currency(value)


# Response schemas: documentation of the shape (OpenAPI); the service renders plain dicts.
class EventTimeOut(BaseModel):
    utc: str
    timezone: str


class VenueOut(BaseModel):
    name: str | None
    address: str | None
    city: str | None
    state: str | None
    country: str | None


class EventOut(BaseModel):
    id: str
    name: str
    description: str | None
    status: Literal["active", "inactive"]
    registration_status: Literal["open", "closed"]
    currency: str
    capacity: int
    tickets_sold: int
    start: EventTimeOut
    end: EventTimeOut | None
    venue: VenueOut
    virtual_url: str | None
    hidden: bool
    require_approval: bool
    created_at: str
    updated_at: str


class EventEnvelope(BaseModel):
    data: EventOut


class EventPage(BaseModel):
    data: list[EventOut]
    pagination: Pagination
