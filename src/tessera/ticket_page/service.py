"""What the ticket page (and the emails that link to it) show: the event and a payment's tickets.

Rules the page enforces:
- only ``valid`` and ``checked_in`` tickets show a QR code (and their barcode as text): those are
  the tickets a door scan accepts;
- ``pending_approval`` and ``invited`` tickets say what they wait for, without a QR code;
- ``rejected`` and ``deleted`` tickets show as VOID, without a QR code;
- times are shown in the event's own timezone, with the zone's abbreviation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tessera.db import Connection, Row
from tessera.kit.clock import to_datetime
from tessera.kit.timezones import zone
from tessera.ticket_page import repository

DASH = "\N{EN DASH}"  # between the two ends of a time range
QR_STATUSES = frozenset({"valid", "checked_in"})
VOID_STATUSES = frozenset({"rejected", "deleted"})

LABELS = {
    "valid": "Valid",
    "checked_in": "Checked in",
    "pending_approval": "Awaiting approval",
    "invited": "Invited",
    "rejected": "VOID",
    "deleted": "VOID",
}
NOTES = {
    "valid": "Show this code at the entrance.",
    "checked_in": "This ticket has been scanned at the entrance.",
    "pending_approval": "The organizer has not approved this ticket yet. "
    "Its QR code appears here once it is approved.",
    "invited": "You are invited. Your QR code appears here once your ticket is issued.",
    "rejected": "This ticket was declined and is not valid for entry.",
    "deleted": "This ticket was cancelled and is not valid for entry.",
}


@dataclass(frozen=True, slots=True)
class EventView:
    id: str
    name: str
    starts_at: datetime  # UTC
    ends_at: datetime | None  # UTC
    timezone: str  # IANA name of the start's zone
    # In the event's timezone: ("Thursday 15 July 2027", "18:00-23:00 EDT") with an en dash;
    # pages show the two on separate lines, so a narrow screen never breaks a time range.
    when_lines: tuple[str, str]
    place: str | None  # the venue as one line; None for an online event
    online_url: str | None

    @property
    def when(self) -> str:
        """One line: ``Thursday 15 July 2027, 18:00-23:00 EDT``."""
        first, second = self.when_lines
        return f"{first} {second}" if first.endswith(DASH) else f"{first}, {second}"


@dataclass(frozen=True, slots=True)
class TicketView:
    id: str
    holder: str
    class_name: str
    status: str
    label: str
    note: str
    barcode: str

    @property
    def shows_qr(self) -> bool:
        return self.status in QR_STATUSES

    @property
    def is_void(self) -> bool:
        return self.status in VOID_STATUSES


@dataclass(frozen=True, slots=True)
class TicketPage:
    payment_id: str
    organization_id: str
    contact_id: str
    event: EventView
    tickets: list[TicketView]


def page_url(base_url: str, payment_id: str) -> str:
    """The public address of a payment's ticket page (``TESSERA_BASE_URL`` has no trailing /)."""
    return f"{base_url}/t/{payment_id}"


async def load(conn: Connection, payment_id: str) -> TicketPage | None:
    """The ticket page of a payment, or None when no payment has this ID."""
    row = await repository.payment_with_event(conn, payment_id)
    if row is None:
        return None
    tickets = await repository.tickets_of_payment(conn, row["organization_id"], payment_id)
    return TicketPage(
        payment_id=row["payment_id"],
        organization_id=row["organization_id"],
        contact_id=row["contact_id"],
        event=event_view(row),
        tickets=[ticket_view(ticket) for ticket in tickets],
    )


def event_view(row: Row) -> EventView:
    starts_at = to_datetime(row["start_at"])
    ends_at = None if row["end_at"] is None else to_datetime(row["end_at"])
    return EventView(
        id=row["event_id"],
        name=row["event_name"],
        starts_at=starts_at,
        ends_at=ends_at,
        timezone=row["start_timezone"],
        when_lines=describe_when(
            starts_at, row["start_timezone"], ends_at, row["end_timezone"] or row["start_timezone"]
        ),
        place=_venue_line(row),
        online_url=row["virtual_url"],
    )


def ticket_view(row: Row) -> TicketView:
    status: str = row["status"]
    holder = " ".join(part for part in (row["first_name"], row["last_name"]) if part)
    return TicketView(
        id=row["id"],
        holder=holder or "Guest",
        class_name=row["ticket_class_name"],
        status=status,
        label=LABELS.get(status, status),
        note=NOTES.get(status, ""),
        barcode=row["barcode"],
    )


def _venue_line(row: Row) -> str | None:
    parts = [
        row[column]
        for column in ("venue_name", "venue_address", "venue_city", "venue_state", "venue_country")
        if row[column]
    ]
    return ", ".join(parts) or None


def _day(moment: datetime) -> str:
    # Not %-d (glibc only). Python never sets LC_TIME itself, so %A and %B are English.
    return f"{moment:%A} {moment.day} {moment:%B %Y}"


def _zone_label(moment: datetime) -> str:
    """``EDT``; zones without a letter abbreviation (``-03``) read as ``UTC-03:00``."""
    name = moment.tzname() or ""
    if name.isalpha():
        return name
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def describe_when(
    starts_at: datetime, start_zone: str, ends_at: datetime | None, end_zone: str
) -> tuple[str, str]:
    """The event's time as people read it, in the event's timezone, as two lines.

    ``("Thursday 15 July 2027", "18:00-23:00 EDT")``; an end on another day (or in another
    zone) repeats the date: ``("Thursday 15 July 2027, 18:00 EDT -", "Friday 16 July 2027,
    02:00 EDT")``. (The dashes are en dashes.)
    """
    start = starts_at.astimezone(zone(start_zone))
    if ends_at is None:
        return _day(start), f"{start:%H:%M} {_zone_label(start)}"
    end = ends_at.astimezone(zone(end_zone))
    if start.date() == end.date() and _zone_label(start) == _zone_label(end):
        return _day(start), f"{start:%H:%M}{DASH}{end:%H:%M} {_zone_label(end)}"
    return (
        f"{_day(start)}, {start:%H:%M} {_zone_label(start)} {DASH}",
        f"{_day(end)}, {end:%H:%M} {_zone_label(end)}",
    )
