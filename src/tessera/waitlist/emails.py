"""The waitlist's emails, composed when delivered from what the database holds then:
"you're on the waitlist", "a seat is yours — claim it by …", "your offer expired"."""

from __future__ import annotations

from email.message import Message as MimeMessage

from tessera.config import Settings
from tessera.db import Connection
from tessera.email import compose
from tessera.kit.clock import to_datetime
from tessera.kit.timezones import zone
from tessera.outbox.worker import DeliveryError, Message
from tessera.ticket_page.service import event_view
from tessera.waitlist import offers

TEMPLATES = {
    offers.JOINED_EMAIL: "waitlist_joined",
    offers.OFFER_EMAIL: "waitlist_offer",
    offers.EXPIRED_EMAIL: "waitlist_expired",
}


def claim_url(base_url: str, event_id: str, token: str) -> str:
    return f"{base_url}/e/{event_id}/claim/{token}"


async def compose_message(conn: Connection, settings: Settings, message: Message) -> MimeMessage:
    template = TEMPLATES.get(message.topic)
    if template is None:
        raise DeliveryError(f"no email for topic {message.topic!r}", permanent=True)
    row = await conn.fetchrow(
        "SELECT w.id, w.email, w.first_name, w.last_name, w.status, w.claim_token,"
        " w.offered_at, w.offer_expires_at, tc.name AS class_name, o.name AS organization_name,"
        " e.id AS event_id, e.name AS event_name, e.start_at, e.start_timezone, e.end_at,"
        " e.end_timezone, e.venue_name, e.venue_address, e.venue_city, e.venue_state,"
        " e.venue_country, e.virtual_url"
        " FROM waitlist_entries w JOIN events e ON e.id = w.event_id"
        " JOIN ticket_classes tc ON tc.id = w.ticket_class_id"
        " JOIN organizations o ON o.id = w.organization_id"
        " WHERE w.organization_id = $1 AND w.id = $2",
        message.organization_id,
        message.payload["entry_id"],
    )
    if row is None:
        raise DeliveryError("the waitlist entry no longer exists", permanent=True)
    if message.topic == offers.OFFER_EMAIL and (
        row["status"] != "offered" or row["offered_at"] != message.payload["offered_at"]
    ):
        raise DeliveryError("the offer is no longer open", permanent=True)
    event = event_view(row)
    context = {
        "event": event,
        "class_name": row["class_name"],
        "greeting": row["first_name"] or "there",
        "organization_name": row["organization_name"],
        "event_url": f"{settings.base_url}/e/{row['event_id']}",
        "claim_url": claim_url(settings.base_url, row["event_id"], row["claim_token"] or ""),
        "expires": _expires(row["offer_expires_at"], row["start_timezone"]),
    }
    subject = compose.wording(f"{template}_subject", event, context["expires"])
    name = " ".join(part for part in (row["first_name"], row["last_name"]) if part)
    envelope = compose.Envelope(
        sender=settings.mail_from,
        recipient_email=row["email"],
        recipient_name=name,
        outbox_id=message.id,
        queued_at=message.created_at,
    )
    return compose.build(envelope, template, {**context, "subject": subject})


def _expires(micros: int | None, timezone: str) -> str:
    if micros is None:
        return ""
    moment = to_datetime(micros).astimezone(zone(timezone))
    return f"{moment:%A} {moment.day} {moment:%B %Y, %H:%M} {moment.tzname() or ''} ({timezone})"
