"""Emails through a real SMTP server (SPEC §5): what arrives, when nothing may arrive, and
retries when the server is away. Both databases; the worker is driven by the test."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import icalendar
import pytest

from tessera.config import Settings
from tests.email.smtp import SmtpServer
from tests.email.support import calendar_attachment, html_part, outbox_rows, text_part
from tests.support import ApiClient, FakeClock, Tenant


@pytest.fixture
def settings(settings: Settings, smtp: SmtpServer) -> Settings:
    return settings.model_copy(update={"smtp_url": smtp.url})


@pytest.fixture
def acme(api: ApiClient) -> Tenant:
    return api.tenant()


def attendees_path(event_id: str, ticket_id: str = "") -> str:
    base = f"/api/v1/events/{event_id}/attendees"
    return f"{base}/{ticket_id}" if ticket_id else base


def create(tenant: Tenant, event_id: str, class_id: str, **fields: Any) -> dict[str, Any]:
    response = tenant.make_attendees(event_id, class_id, **fields)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_confirmation_reaches_the_contact_with_link_details_and_calendar(
    api: ApiClient, acme: Tenant, smtp: SmtpServer, settings: Settings
) -> None:
    event = acme.make_event(
        name="Harbor Lights Festival",
        location={"name": "Pier 4", "city": "Boston", "state": "MA"},
    )
    ga = acme.general_admission(event["id"])
    created = create(acme, event["id"], ga["id"], quantity=2, send_email=True)
    assert smtp.received == []  # queued, not sent inside the request

    assert api.deliver_outbox() == 1
    (received,) = smtp.received
    message = received.message
    assert received.rcpt_tos == ["jane@example.com"]
    assert received.mail_from == "tickets@localhost"
    assert message["To"] == "Jane Doe <jane@example.com>"
    assert message["Subject"] == "Your tickets for Harbor Lights Festival"
    (row,) = outbox_rows(api)
    assert row["status"] == "delivered"
    assert re.fullmatch(rf"<outbox\.{row['id']}\.\d+@localhost>", message["Message-ID"])
    assert message["Auto-Submitted"] == "auto-generated"

    link = f"{settings.base_url}/t/{created['payment_id']}"
    text, html = text_part(message), html_part(message)
    for body in (text, html):
        assert link in body
        assert "Pier 4, Boston, MA" in body
    assert "Thursday 15 July 2027, 18:00\u201323:00 EDT" in text
    assert "Thursday 15 July 2027<br>18:00\u201323:00 EDT" in html
    assert "2 tickets" in text
    assert f'href="{link}"' in html

    filename, ics = calendar_attachment(message)
    assert filename == "event.ics"
    (entry,) = icalendar.Calendar.from_ical(ics).walk("VEVENT")
    assert entry["SUMMARY"] == "Harbor Lights Festival"
    assert entry["URL"] == link
    assert entry.decoded("DTSTART") == datetime(2027, 7, 15, 22, 0, tzinfo=UTC)
    # The same builder as the page's "Add to calendar" file: the same event, UID and place.
    served = icalendar.Calendar.from_ical(
        api.client.get(f"/t/{created['payment_id']}/event.ics").content
    )
    (page_entry,) = served.walk("VEVENT")
    for field in ("UID", "SUMMARY", "LOCATION", "URL", "DTSTART", "DTEND", "DESCRIPTION"):
        assert entry[field] == page_entry[field], field

    assert api.deliver_outbox() == 0
    assert len(smtp.received) == 1


def test_a_stopped_server_is_retried_and_the_email_arrives_exactly_once(
    api: ApiClient, acme: Tenant, smtp: SmtpServer, clock: FakeClock
) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    smtp.stop()
    create(acme, event["id"], ga["id"], send_email=True)

    assert api.deliver_outbox() == 1
    (row,) = outbox_rows(api)
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert "unreachable" in row["last_error"]
    assert "127.0.0.1" in row["last_error"]

    smtp.start()
    assert api.deliver_outbox() == 0  # not due yet: backoff
    assert smtp.received == []
    clock.advance(seconds=60)  # past the first retry delay (30 s with jitter)
    assert api.deliver_outbox() == 1
    assert len(smtp.received) == 1
    (row,) = outbox_rows(api)
    assert (row["status"], row["attempts"]) == ("delivered", 2)

    clock.advance(hours=2)
    assert api.deliver_outbox() == 0
    assert len(smtp.received) == 1


def test_a_request_refused_for_capacity_sends_nothing(
    api: ApiClient, acme: Tenant, smtp: SmtpServer
) -> None:
    event = acme.make_event(capacity=1)
    ga = acme.general_admission(event["id"])
    response = acme.make_attendees(event["id"], ga["id"], quantity=2, send_email=True)
    assert response.status_code == 409
    assert response.json()["code"] == "capacity_exceeded"
    assert api.deliver_outbox() == 0
    assert outbox_rows(api) == []
    assert smtp.received == []


def test_an_idempotent_replay_sends_nothing_new(
    api: ApiClient, acme: Tenant, smtp: SmtpServer
) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    body = {
        "ticket_class_id": ga["id"],
        "contact": {"email": "jane@example.com", "first_name": "Jane"},
        "send_email": True,
    }
    headers = {"Idempotency-Key": "order-7781"}
    first = acme.post(attendees_path(event["id"]), body, headers=headers)
    assert first.status_code == 201
    assert api.deliver_outbox() == 1
    replay = acme.post(attendees_path(event["id"]), body, headers=headers)
    assert replay.status_code == 201
    assert replay.headers["idempotent-replay"] == "true"
    assert api.deliver_outbox() == 0
    assert len(outbox_rows(api)) == 1
    assert len(smtp.received) == 1


def test_send_email_false_sends_nothing(api: ApiClient, acme: Tenant, smtp: SmtpServer) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    create(acme, event["id"], ga["id"], send_email=False)
    create(acme, event["id"], ga["id"], email="omit@example.com")  # the default is false
    assert api.deliver_outbox() == 0
    assert outbox_rows(api) == []
    assert smtp.received == []


def test_an_erased_contact_is_never_emailed(api: ApiClient, acme: Tenant, smtp: SmtpServer) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    created = create(acme, event["id"], ga["id"], send_email=True)
    contact_id = acme.get(f"/api/v1/payments/{created['payment_id']}").json()["data"]["contact_id"]
    erased = acme.delete(f"/api/v1/contacts/{contact_id}")
    assert erased.status_code == 200, erased.text

    assert api.deliver_outbox() == 1
    (row,) = outbox_rows(api)
    assert (row["status"], row["attempts"]) == ("failed", 1)  # permanent: no retries
    assert "erased" in row["last_error"]
    assert smtp.received == []


def test_a_recipient_the_server_refuses_for_good_is_not_retried(
    api: ApiClient, acme: Tenant, smtp: SmtpServer
) -> None:
    smtp.inbox.refuse.add("gone@example.com")
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    create(acme, event["id"], ga["id"], email="gone@example.com", send_email=True)
    assert api.deliver_outbox() == 1
    (row,) = outbox_rows(api)
    assert (row["status"], row["attempts"]) == ("failed", 1)
    assert "550" in row["last_error"]
    assert smtp.received == []


def test_status_emails_say_what_happened(api: ApiClient, acme: Tenant, smtp: SmtpServer) -> None:
    event = acme.make_event(name="Harbor Lights Festival")
    ga = acme.general_admission(event["id"])
    created = create(acme, event["id"], ga["id"], quantity=3, status="pending_approval")
    approved, rejected, deleted = (ticket["id"] for ticket in created["data"])
    message_text = "See you at <Pier 4>!\nDoors open at 17:30."

    def change(ticket_id: str, status: str, **fields: Any) -> None:
        body = {"status": status, **fields}
        response = acme.patch(attendees_path(event["id"], ticket_id), body)
        assert response.status_code == 200, response.text

    change(approved, "valid", notify_guest=True, custom_message=message_text)
    change(approved, "checked_in", notify_guest=True)
    change(rejected, "rejected", notify_guest=True)
    change(deleted, "valid")  # notify_guest defaults to false: no email
    change(deleted, "deleted", notify_guest=True)
    assert api.deliver_outbox() == 4

    by_subject = {r.message["Subject"]: r.message for r in smtp.received}
    assert set(by_subject) == {
        "Your ticket for Harbor Lights Festival is approved",
        "You're checked in at Harbor Lights Festival",
        "Your ticket request for Harbor Lights Festival was declined",
        "Your ticket for Harbor Lights Festival was cancelled",
    }
    link = f"/t/{created['payment_id']}"
    for message in by_subject.values():
        assert message["To"] == "Jane Doe <jane@example.com>"
        assert link in text_part(message) and link in html_part(message)
        assert calendar_attachment_count(message) == 0

    approval = by_subject["Your ticket for Harbor Lights Festival is approved"]
    assert "has been approved" in text_part(approval)
    assert message_text in text_part(approval)
    assert "See you at &lt;Pier 4&gt;!\nDoors open at 17:30." in html_part(approval)
    assert "<Pier 4>" not in html_part(approval)
    declined = by_subject["Your ticket request for Harbor Lights Festival was declined"]
    assert "declined by the organizer" in text_part(declined)
    assert "A message from" not in text_part(declined)  # no custom_message: no empty box
    cancelled = by_subject["Your ticket for Harbor Lights Festival was cancelled"]
    assert "no longer valid for entry" in text_part(cancelled)
    checked_in = by_subject["You're checked in at Harbor Lights Festival"]
    assert "has been checked in" in text_part(checked_in)


def calendar_attachment_count(message: Any) -> int:
    return sum(
        1 for part in message.iter_attachments() if part.get_content_type() == "text/calendar"
    )
