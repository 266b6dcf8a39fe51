"""Query filters and response schemas of the payments API."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from tessera import errors
from tessera.kit import clock
from tessera.kit.pagination import Pagination, csv_values
from tessera.payment.provider import PAYMENT_STATUSES, PaymentStatus

INSTANT_EXPECTED = "must be an ISO-8601 instant with a UTC offset, e.g. 2026-05-26T12:00:00Z"


@dataclass(frozen=True, slots=True)
class PaymentFilters:
    statuses: list[str]
    event_id: str | None
    ticket_class_id: str | None
    created_from: int | None  # inclusive
    created_to: int | None  # exclusive

    @classmethod
    def parse(
        cls,
        *,
        status: str | None,
        event_id: str | None,
        ticket_class_id: str | None,
        created_from: str | None,
        created_to: str | None,
    ) -> PaymentFilters:
        """Check every filter and report all bad ones at once (400 Validation failed)."""
        problems: dict[str, list[str]] = {}
        statuses: list[str] = []
        try:
            statuses = csv_values(status, PAYMENT_STATUSES, ("succeeded",))
        except ValueError as exc:
            problems["status"] = [str(exc)]
        for name, value in (("event_id", event_id), ("ticket_class_id", ticket_class_id)):
            if value is not None and not value.strip():
                problems[name] = ["must not be empty"]
        instants: dict[str, int | None] = {}
        for name, text in (("from", created_from), ("to", created_to)):
            instants[name] = None
            if text is None:
                continue
            try:
                instants[name] = clock.parse_instant(text.strip())
            except ValueError:
                problems[name] = [INSTANT_EXPECTED]
        start, end = instants["from"], instants["to"]
        if start is not None and end is not None and end <= start:
            problems["to"] = ["must be after from"]
        if problems:
            raise errors.ValidationFailed(problems)
        return cls(
            statuses=statuses,
            event_id=event_id.strip() if event_id else None,
            ticket_class_id=ticket_class_id.strip() if ticket_class_id else None,
            created_from=start,
            created_to=end,
        )


# Response schemas: documentation of the shape (OpenAPI); the service renders plain dicts.
class PaymentOut(BaseModel):
    id: str
    status: PaymentStatus
    method: str
    currency: str
    amount: str
    quantity: int
    event_id: str
    ticket_class_id: str
    contact_id: str
    customer_email: str
    ticket_ids: list[str]
    created_at: str
    updated_at: str


class PaymentEnvelope(BaseModel):
    data: PaymentOut


class PaymentPage(BaseModel):
    data: list[PaymentOut]
    pagination: Pagination
