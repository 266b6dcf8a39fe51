"""The QR ticket page ``GET /t/{payment_id}`` and its ``event.ics`` (SPEC §4), on both databases."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import icalendar
import pytest

from tessera.ticket_page.service import describe_when
from tests.support import ApiClient, Tenant
from tests.ticket_page.reading import decode_svg, svgs, ticket_cards


@pytest.fixture
def acme(api: ApiClient) -> Tenant:
    return api.tenant()


def issue(tenant: Tenant, event_id: str, class_id: str, **fields: Any) -> dict[str, Any]:
    response = tenant.make_attendees(event_id, class_id, **fields)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def set_status(tenant: Tenant, event_id: str, ticket_id: str, status: str) -> None:
    response = tenant.patch(f"/api/v1/events/{event_id}/attendees/{ticket_id}", {"status": status})
    assert response.status_code == 200, response.text


def page(api: ApiClient, payment_id: str) -> str:
    response = api.client.get(f"/t/{payment_id}")  # no API key: the page is public
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    return response.text


def test_page_shows_the_event_and_a_scannable_qr_code_per_ticket(acme: Tenant) -> None:
    event = acme.make_event(
        name="Harbor Lights Festival",
        location={
            "name": "Pier 4",
            "address": "1 Harbor Way",
            "city": "Boston",
            "state": "MA",
            "country": "US",
        },
    )
    vip = acme.make_ticket_class(event["id"], name="VIP Deck")
    created = issue(
        acme,
        event["id"],
        vip["id"],
        quantity=3,
        contact={"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"},
    )
    html = page(acme.api, created["payment_id"])

    assert "<h1>Harbor Lights Festival</h1>" in html
    # 18:00 wall time in New York, shown in the event's zone with its abbreviation.
    assert "Thursday 15 July 2027" in html
    assert "18:00\u201323:00 EDT" in html
    assert "America/New_York" in html
    assert "Pier 4, 1 Harbor Way, Boston, MA, US" in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html

    cards = ticket_cards(html)
    assert sorted(cards) == sorted(ticket["id"] for ticket in created["data"])
    for ticket in created["data"]:
        card = cards[ticket["id"]]
        assert "Ada Lovelace" in card
        assert "VIP Deck" in card
        assert ">Valid<" in card
        assert f"<code>{ticket['barcode']}</code>" in card
        (svg,) = svgs(card)
        assert decode_svg(svg) == [ticket["barcode"]]


def test_each_status_shows_what_the_ticket_is_good_for(acme: Tenant) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    created = issue(acme, event["id"], ga["id"], quantity=4)
    valid, checked_in, deleted, rejected = (ticket["id"] for ticket in created["data"])
    set_status(acme, event["id"], checked_in, "checked_in")
    set_status(acme, event["id"], deleted, "deleted")
    set_status(acme, event["id"], rejected, "rejected")
    cards = ticket_cards(page(acme.api, created["payment_id"]))
    barcodes = {ticket["id"]: ticket["barcode"] for ticket in created["data"]}

    assert ">Valid<" in cards[valid]
    assert decode_svg(svgs(cards[valid])[0]) == [barcodes[valid]]
    # A checked-in ticket keeps its code (the door app answers "already checked in").
    assert ">Checked in<" in cards[checked_in]
    assert decode_svg(svgs(cards[checked_in])[0]) == [barcodes[checked_in]]
    for void in (deleted, rejected):
        assert ">VOID<" in cards[void]
        assert svgs(cards[void]) == []
        assert barcodes[void] not in cards[void]

    pending = issue(
        acme,
        event["id"],
        ga["id"],
        status="pending_approval",
        contact={"email": "pat@example.com", "first_name": "Pat"},
    )
    invited = issue(
        acme,
        event["id"],
        ga["id"],
        status="invited",
        contact={"email": "ivy@example.com", "first_name": "Ivy"},
    )
    for created_one, label in ((pending, "Awaiting approval"), (invited, "Invited")):
        (ticket,) = created_one["data"]
        card = ticket_cards(page(acme.api, created_one["payment_id"]))[ticket["id"]]
        assert f">{label}<" in card
        assert svgs(card) == []
        assert ticket["barcode"] not in card


def test_page_shows_only_the_tickets_of_its_payment(acme: Tenant) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    first = issue(acme, event["id"], ga["id"], quantity=2)
    second = issue(acme, event["id"], ga["id"], quantity=1)
    cards = ticket_cards(page(acme.api, first["payment_id"]))
    assert set(cards) == {ticket["id"] for ticket in first["data"]}
    assert second["data"][0]["barcode"] not in page(acme.api, first["payment_id"])


def test_online_event_links_to_its_url_and_text_is_escaped(acme: Tenant) -> None:
    event = acme.make_event(
        name="Talks <script>alert(1)</script> & more",
        location="https://meet.example.com/room?a=1&b=2",
    )
    ga = acme.general_admission(event["id"])
    created = issue(
        acme, event["id"], ga["id"], contact={"email": "x@example.com", "first_name": "<b>Bo</b>"}
    )
    html = page(acme.api, created["payment_id"])
    assert "<script" not in html
    assert "Talks &lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in html
    assert "&lt;b&gt;Bo&lt;/b&gt;" in html
    assert 'href="https://meet.example.com/room?a=1&amp;b=2"' in html


def test_unknown_payment_is_a_404_page(api: ApiClient, acme: Tenant) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    real = issue(acme, event["id"], ga["id"])["payment_id"]
    for path in (
        "/t/pay_doesNotExist123456789",
        f"/t/{real}x",
        f"/t/{real.lower()}",
        "/t/pay_doesNotExist123456789/event.ics",
    ):
        response = api.client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/html"), path
        assert "find these tickets" in response.text
        assert "<style>" in response.text  # the same look as the ticket page
        assert response.headers["cache-control"] == "no-store"


def test_security_headers(api: ApiClient, acme: Tenant) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    payment_id = issue(acme, event["id"], ga["id"])["payment_id"]
    for path in (f"/t/{payment_id}", f"/t/{payment_id}/event.ics", "/t/pay_unknown"):
        headers = api.client.get(path).headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"  # the URL is the secret
        assert headers["x-frame-options"] == "DENY"
        assert headers["cache-control"] == "no-store"
        policy = dict(
            [*part.strip().split(" ", 1), ""][:2]
            for part in headers["content-security-policy"].split(";")
        )
        assert policy["default-src"] == "'none'"
        assert policy["frame-ancestors"] == "'none'"
        assert "script-src" not in policy  # falls back to 'none'
        assert "unsafe" not in headers["content-security-policy"]

    # The one inline stylesheet is allowed by its hash, and nothing else is.
    html = api.client.get(f"/t/{payment_id}").text
    (style,) = re.findall(r"<style>(.*?)</style>", html, re.S)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    csp = api.client.get(f"/t/{payment_id}").headers["content-security-policy"]
    assert f"style-src 'sha256-{digest}'" in csp
    assert "style=" not in html
    assert not re.search(r"<(script|img|link|iframe)\b", html)


def test_ics_has_the_event_in_utc(api: ApiClient, acme: Tenant) -> None:
    event = acme.make_event(
        name="Late Show",
        start={"utc": "2027-03-27T23:30", "timezone": "Europe/Berlin"},
        end={"utc": "2027-03-28T04:00", "timezone": "Europe/Berlin"},  # across the DST switch
        location={"name": "Kino", "city": "Berlin"},
    )
    ga = acme.general_admission(event["id"])
    payment_id = issue(acme, event["id"], ga["id"])["payment_id"]
    html = page(api, payment_id)
    href = re.search(r'<a class="button" href="([^"]+)">Add to calendar</a>', html)
    assert href is not None
    ics_url = urljoin(f"http://testserver/t/{payment_id}", href.group(1))
    assert ics_url == f"http://testserver/t/{payment_id}/event.ics"

    response = api.client.get(ics_url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    assert response.headers["content-disposition"] == 'attachment; filename="late-show.ics"'
    calendar = icalendar.Calendar.from_ical(response.content)
    (entry,) = calendar.walk("VEVENT")
    assert entry["UID"] == f"{payment_id}@127.0.0.1"
    assert entry["SUMMARY"] == "Late Show"
    assert entry["LOCATION"] == "Kino, Berlin"
    assert entry["URL"] == f"http://127.0.0.1:8000/t/{payment_id}"
    start, end = entry.decoded("DTSTART"), entry.decoded("DTEND")
    assert start == datetime(2027, 3, 27, 22, 30, tzinfo=UTC)  # CET, UTC+1
    assert end == datetime(2027, 3, 28, 2, 0, tzinfo=UTC)  # CEST, UTC+2
    assert start.utcoffset() is not None and start.utcoffset().total_seconds() == 0
    assert b"DTSTART:20270327T223000Z" in response.content
    assert b"DTEND:20270328T020000Z" in response.content
    assert "Saturday 27 March 2027, 23:30 CET \u2013" in html
    assert "Sunday 28 March 2027, 04:00 CEST" in html


def test_describe_when_in_the_events_zone() -> None:
    start = datetime(2027, 7, 15, 22, 0, tzinfo=UTC)
    end = datetime(2027, 7, 16, 3, 0, tzinfo=UTC)
    assert describe_when(start, "America/New_York", end, "America/New_York") == (
        "Thursday 15 July 2027",
        "18:00\u201323:00 EDT",
    )
    assert describe_when(start, "Europe/Berlin", None, "Europe/Berlin") == (
        "Friday 16 July 2027",
        "00:00 CEST",
    )
    # A zone without a letter abbreviation reads as an offset.
    assert describe_when(start, "America/Sao_Paulo", end, "America/Sao_Paulo") == (
        "Thursday 15 July 2027, 19:00 UTC-03:00 \u2013",
        "Friday 16 July 2027, 00:00 UTC-03:00",
    )
    assert describe_when(start, "Asia/Kolkata", None, "Asia/Kolkata") == (
        "Friday 16 July 2027",
        "03:30 IST",
    )
