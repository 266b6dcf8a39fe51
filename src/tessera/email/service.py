"""The emails Tessera sends, composed from what the database holds when they are delivered.

- ``attendee.confirmation`` (Create Attendee with ``send_email``): one email to the contact for
  every ticket the request issued, with the event, the ticket page link and the ``.ics`` file.
- ``attendee.status`` (Update Attendee with ``notify_guest``): the ticket's new status in words,
  with the organizer's ``custom_message`` when there is one.

Nobody whose contact was erased is ever emailed: that is a permanent failure, not a retry.
"""

from __future__ import annotations

from email.message import Message as MimeMessage
from typing import Any

from tessera.attendee.create import CONFIRMATION_TOPIC
from tessera.attendee.transitions import STATUS_TOPIC
from tessera.config import Settings
from tessera.contact.repository import erased_email
from tessera.db import Connection, Row
from tessera.email import compose, repository
from tessera.outbox.worker import DeliveryError, Message
from tessera.ticket_page import calendar
from tessera.ticket_page import service as ticket_pages
from tessera.ticket_page.service import TicketPage

ERASED_DOMAIN = erased_email("x").rpartition("@")[2]


async def compose_message(conn: Connection, settings: Settings, message: Message) -> MimeMessage:
    """The email an outbox row stands for; DeliveryError(permanent) when it can never be sent."""
    if message.topic == CONFIRMATION_TOPIC:
        return await confirmation(conn, settings, message)
    if message.topic == STATUS_TOPIC:
        return await status_change(conn, settings, message)
    raise DeliveryError(f"no email for topic {message.topic!r}", permanent=True)


async def confirmation(conn: Connection, settings: Settings, message: Message) -> MimeMessage:
    payload = message.payload
    page = await _page(conn, message, payload["payment_id"])
    recipient = await _recipient(conn, message, payload["contact_id"])
    wanted = set(payload["ticket_ids"])
    tickets = [ticket for ticket in page.tickets if ticket.id in wanted]
    if not tickets:
        raise DeliveryError("none of the tickets is on the payment any more", permanent=True)
    ics = calendar.build_ics(page, settings.base_url, message.created_at)
    return compose.build(
        _envelope(settings, message, recipient),
        "confirmation",
        {
            **_common(settings, page, recipient),
            "subject": compose.wording("confirmation_subject", page.event),
            "tickets": tickets,
        },
        [compose.Attachment("event.ics", "text", "calendar", ics, {"method": "PUBLISH"})],
    )


async def status_change(conn: Connection, settings: Settings, message: Message) -> MimeMessage:
    payload = message.payload
    owner = await repository.ticket_owner(
        conn, message.organization_id, payload["event_id"], payload["ticket_id"]
    )
    if owner is None:
        raise DeliveryError("the ticket no longer exists", permanent=True)
    page = await _page(conn, message, owner["payment_id"])
    recipient = await _recipient(conn, message, owner["contact_id"])
    ticket = next((t for t in page.tickets if t.id == payload["ticket_id"]), None)
    if ticket is None:
        raise DeliveryError("the ticket is not on its payment's page", permanent=True)
    status = payload["status"]
    return compose.build(
        _envelope(settings, message, recipient),
        "status",
        {
            **_common(settings, page, recipient),
            "subject": compose.wording("status_subject", status, page.event),
            "news": compose.wording("status_news", status, ticket, page.event),
            "custom_message": (payload.get("custom_message") or "").strip(),
        },
    )


async def _page(conn: Connection, message: Message, payment_id: str) -> TicketPage:
    page = await ticket_pages.load(conn, payment_id)
    if page is None or page.organization_id != message.organization_id:
        raise DeliveryError(f"payment {payment_id} not found", permanent=True)
    return page


async def _recipient(conn: Connection, message: Message, contact_id: str) -> Row:
    row = await repository.recipient(conn, message.organization_id, contact_id)
    if row is None:
        raise DeliveryError(f"contact {contact_id} not found", permanent=True)
    if row["erased_at"] is not None or row["email"].endswith("@" + ERASED_DOMAIN):
        raise DeliveryError(
            "the contact was erased; erased people are never emailed", permanent=True
        )
    return row


def _envelope(settings: Settings, message: Message, recipient: Row) -> compose.Envelope:
    name = " ".join(part for part in (recipient["first_name"], recipient["last_name"]) if part)
    return compose.Envelope(
        sender=settings.mail_from,
        recipient_email=recipient["email"],
        recipient_name=name,
        outbox_id=message.id,
        queued_at=message.created_at,
    )


def _common(settings: Settings, page: TicketPage, recipient: Row) -> dict[str, Any]:
    return {
        "event": page.event,
        "page_url": ticket_pages.page_url(settings.base_url, page.payment_id),
        "greeting": recipient["first_name"] or "there",
        "organization_name": recipient["organization_name"],
    }
