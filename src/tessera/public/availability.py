"""What a ticket class offers the public right now: price, sales window and seats left.

Seats left for the public are the free seats of the class and of the event, less the people in
line on the waitlist (waiting, or holding an offer): a freed seat goes to the first person in
line, not to whoever reloads the page first. Capacity itself (never an oversold seat) is the
exact rule of Create Attendee, which every registration goes through; this is the public rule
on top.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tessera.db import Row
from tessera.kit import money
from tessera.kit.clock import to_datetime
from tessera.kit.timezones import zone

UNLIMITED = 10**9


@dataclass(frozen=True, slots=True)
class Availability:
    left: int  # seats the public may take now; UNLIMITED when neither class nor event binds
    limit: str  # "ticket_class" | "event": which one binds
    free: bool
    price: str  # "Free" or "12.50 EUR"
    state: str  # on_sale | not_yet | ended | sold_out | organizer (priced)
    label: str  # "8 left", "Sold out", "On sale from …", "Sales ended", "Available"

    @property
    def registrable(self) -> bool:
        return self.state == "on_sale"


def seats_left(row: Row) -> tuple[int, str]:
    """(seats the public may take, which limit binds) from a row with both counters and lines."""
    class_left = UNLIMITED
    if row["quantity_total"]:
        class_left = row["quantity_total"] - row["quantity_sold"]
    class_left -= row["class_line"]
    event_left = UNLIMITED
    if row["capacity"]:
        event_left = row["capacity"] - row["tickets_sold"]
    event_left -= row["event_line"]
    if event_left < class_left:
        return max(event_left, 0), "event"
    return max(class_left, 0), "ticket_class"


def price_label(cost: str, currency: str) -> str:
    amount = Decimal(cost)
    if amount == 0:
        return "Free"
    return f"{money.format_amount(amount, currency)} {currency.upper()}"


def _on_sale_from(micros: int, timezone: str) -> str:
    moment = to_datetime(micros).astimezone(zone(timezone))
    when = f"{moment:%a} {moment.day} {moment:%b %Y, %H:%M} {moment.tzname() or ''}".strip()
    return f"Not on sale yet. On sale from {when}"


def of_class(row: Row, now: int, timezone: str) -> Availability:
    """The public state of one class (``row``: class columns with lines and event counters)."""
    left, limit = seats_left(row)
    free = Decimal(row["cost"]) == 0
    price = price_label(row["cost"], row["currency"])
    if row["sales_start"] is not None and now < row["sales_start"]:
        return Availability(
            left, limit, free, price, "not_yet", _on_sale_from(row["sales_start"], timezone)
        )
    if row["sales_end"] is not None and now >= row["sales_end"]:
        return Availability(left, limit, free, price, "ended", "Sales ended")
    if left <= 0:
        return Availability(left, limit, free, price, "sold_out", "Sold out")
    label = "Available" if left >= UNLIMITED // 2 else f"{left} left"
    if not free:
        return Availability(left, limit, free, price, "organizer", label)
    return Availability(left, limit, free, price, "on_sale", label)
