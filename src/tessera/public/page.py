"""What the public event page shows: the event, and each listed class with its availability.

Only an ``active`` event that is not ``hidden`` has a page; anything else reads as not found.
Two queries: the event (with its waitlist line), then its listed classes (with theirs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tessera.db import Connection, Row
from tessera.public import availability, form, repository
from tessera.public.availability import Availability
from tessera.ticket_page.service import EventView, event_view


@dataclass(frozen=True, slots=True)
class ClassView:
    id: str
    name: str
    description: str | None
    minimum: int
    maximum: int
    availability: Availability


@dataclass(frozen=True, slots=True)
class PublicEvent:
    id: str
    organization_id: str
    event: EventView
    description: str | None
    registration_open: bool
    classes: list[ClassView]
    questions: list[form.Question]  # what the registration form asks (SPEC §10's seam)

    @property
    def registrable(self) -> list[ClassView]:
        """The classes the form offers: free, on sale, with seats left."""
        if not self.registration_open:
            return []
        return [c for c in self.classes if c.availability.registrable]

    @property
    def waitlisted(self) -> list[ClassView]:
        """Sold-out free classes, whose waitlist the page offers to join."""
        if not self.registration_open:
            return []
        return [
            c for c in self.classes if c.availability.state == "sold_out" and c.availability.free
        ]

    def find(self, class_id: str) -> ClassView | None:
        return next((c for c in self.classes if c.id == class_id), None)


def is_public(row: Row) -> bool:
    return bool(row["status"] == "active" and not row["hidden"])


def with_event_counters(class_row: Row, event_row: Row) -> dict[str, Any]:
    return {
        **dict(class_row),
        "capacity": event_row["capacity"],
        "tickets_sold": event_row["tickets_sold"],
        "event_line": event_row["event_line"],
    }


def class_view(row: Row | dict[str, Any], now: int, timezone: str) -> ClassView:
    return ClassView(
        id=row["id"],
        name=row["name"],
        description=row["class_description"],
        minimum=row["minimum_per_order"],
        maximum=row["maximum_per_order"],
        availability=availability.of_class(row, now, timezone),
    )


async def load(conn: Connection, event_id: str, now: int) -> PublicEvent | None:
    """The page of an active, listed event; None when there is none to show."""
    row = await repository.event(conn, event_id)
    if row is None or not is_public(row):
        return None
    classes = await repository.listed_classes(conn, row["organization_id"], event_id)
    timezone = row["start_timezone"]
    return PublicEvent(
        id=row["event_id"],
        organization_id=row["organization_id"],
        event=event_view(row),
        description=row["description"],
        registration_open=row["registration_status"] == "open",
        classes=[class_view(with_event_counters(c, row), now, timezone) for c in classes],
        questions=await form.questions_for(conn, row["organization_id"], event_id, None),
    )
