"""Request and response schemas of the attendees API."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator

from tessera.contact.schemas import normalize_email
from tessera.kit.pagination import Page, PageNumber, PageSize, Pagination
from tessera.kit.schema import RequestModel

CreateStatus = Literal["valid", "pending_approval", "checked_in", "invited"]
UpdateStatus = Literal["valid", "checked_in", "pending_approval", "rejected", "deleted"]
PaymentMethod = Literal["cash", "free", "external"]
Name = Annotated[str, Field(max_length=100)]


class ContactIn(RequestModel):
    email: Annotated[str, Field(max_length=320, examples=["jane@example.com"])]
    first_name: Name | None = None
    last_name: Name | None = None
    phone: Annotated[str, Field(max_length=40)] | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return normalize_email(value)


class AttendeeCreate(RequestModel):
    ticket_class_id: Annotated[str, Field(min_length=1, max_length=64)]
    contact: ContactIn
    quantity: Annotated[int, Field(ge=1, le=100)] = 1
    status: CreateStatus | None = None
    payment_method: PaymentMethod = "cash"
    send_email: bool = False
    # SPEC §10: question ID → answer, each checked against its question (tessera.question)
    answers: Annotated[dict[Annotated[str, Field(max_length=64)], Any], Field(max_length=100)] = (
        Field(default_factory=dict)
    )


class AttendeeUpdate(RequestModel):
    status: UpdateStatus
    notify_guest: bool = False
    custom_message: Annotated[str, Field(max_length=10_000)] | None = None


class CheckInRequest(RequestModel):
    barcode: Annotated[str, Field(min_length=1, max_length=64)]


class AttendeeOut(BaseModel):
    id: str
    status: Literal["valid", "checked_in", "pending_approval", "invited", "rejected", "deleted"]
    ticket_class_id: str
    ticket_class_name: str
    barcode: str
    first_name: str | None
    last_name: str | None
    email: str
    payment_id: str
    payment_method: PaymentMethod
    checked_in_at: str | None
    created_at: str
    updated_at: str
    answers: dict[str, Any]


class AttendeeEnvelope(BaseModel):
    data: AttendeeOut


class AttendeesCreated(BaseModel):
    data: list[AttendeeOut]
    payment_id: str
    quantity: int


class AttendeePage(BaseModel):
    data: list[AttendeeOut]
    pagination: Pagination


class AttendeeListQuery(BaseModel):
    """The query of List Attendees: its filters (tessera.attendee.filters), then the page."""

    status: Annotated[str | None, Field(description="CSV of statuses")] = None
    email: Annotated[str | None, Field(max_length=320)] = None
    ticket_class_id: Annotated[str | None, Field(max_length=64)] = None
    q: Annotated[str | None, Field(max_length=200, description="Search name and email")] = None
    updated_since: Annotated[str | None, Field(max_length=64)] = None
    page: PageNumber = 1
    page_size: PageSize = 50

    @property
    def paging(self) -> Page:
        return Page(self.page, self.page_size)


class AttendeeDeleted(BaseModel):
    deleted: bool
    id: str
