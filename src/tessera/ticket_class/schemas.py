"""Request and response schemas of the ticket-classes API."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from tessera.kit.schema import Amount, RequestModel

Name = Annotated[str, Field(min_length=1, max_length=120)]
Description = Annotated[str, Field(max_length=10_000)]
Instant = Annotated[str, Field(max_length=64, examples=["2027-06-01T09:00:00Z"])]
PerOrder = Annotated[int, Field(ge=1, le=100)]


class TicketClassCreate(RequestModel):
    name: Name
    description: Description | None = None
    cost: Amount = Field(default=0)  # type: ignore[assignment]
    free: bool | None = None
    currency: str | None = Field(default=None, description="Must match the event's currency")
    quantity_total: Annotated[int, Field(ge=0, le=10_000_000)] = 0
    sales_start: Instant | None = None
    sales_end: Instant | None = None
    minimum_per_order: PerOrder = 1
    maximum_per_order: PerOrder = 10
    require_approval: bool | None = Field(
        default=None, description="Defaults to the event's require_approval"
    )
    hide_on_event_page: bool = False


class TicketClassUpdate(RequestModel):
    name: Name | None = None
    description: Description | None = None
    cost: Amount | None = None
    free: bool | None = None
    quantity_total: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    sales_start: Instant | None = None
    sales_end: Instant | None = None
    minimum_per_order: PerOrder | None = None
    maximum_per_order: PerOrder | None = None
    require_approval: bool | None = None
    hide_on_event_page: bool | None = None


class TicketClassOut(BaseModel):
    id: str
    event_id: str
    name: str
    description: str | None
    status: Literal["active", "deleted"]
    currency: str
    cost: str
    free: bool
    quantity_total: int
    quantity_sold: int
    sales_start: str | None
    sales_end: str | None
    minimum_per_order: int
    maximum_per_order: int
    require_approval: bool
    hide_on_event_page: bool
    created_at: str
    updated_at: str


class TicketClassEnvelope(BaseModel):
    data: TicketClassOut


class TicketClassList(BaseModel):
    data: list[TicketClassOut]


class Deleted(BaseModel):
    deleted: bool
    id: str
