"""The ``.ics`` file of a ticket page: served at ``/t/{payment_id}/event.ics`` and attached to
the confirmation email. One builder for both, so the two can never disagree."""

from __future__ import annotations

from urllib.parse import urlsplit

from icalendar import Calendar, Event

from tessera.kit.clock import to_datetime
from tessera.ticket_page.service import EventView, TicketPage, page_url

PRODUCT_ID = "-//Tessera//Tessera tickets//EN"


def build_ics(page: TicketPage, base_url: str, stamp: int) -> bytes:
    """An iCalendar file with one VEVENT for the page's event; times in UTC.

    The UID is the payment's, so importing the file again updates the entry instead of
    duplicating it. ``stamp`` (microseconds) is when this copy of the file was made.
    """
    url = page_url(base_url, page.payment_id)
    host = urlsplit(base_url).hostname or "localhost"
    return event_ics(page.event, f"{page.payment_id}@{host}", url, f"Your tickets: {url}", stamp)


def event_ics(event: EventView, uid: str, url: str, description: str, stamp: int) -> bytes:
    """One VEVENT for ``event`` (the ticket page's and the public event page's files)."""
    entry = Event()
    entry.add("uid", uid)
    entry.add("dtstamp", to_datetime(stamp))
    entry.add("dtstart", event.starts_at)
    if event.ends_at is not None:
        entry.add("dtend", event.ends_at)
    entry.add("summary", event.name)
    location = event.place or event.online_url
    if location:
        entry.add("location", location)
    entry.add("url", url)
    entry.add("description", description)

    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add_component(entry)
    content: bytes = calendar.to_ical()
    return content
