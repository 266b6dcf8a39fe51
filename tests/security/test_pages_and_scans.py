"""The public ticket page and the door scan show one order's tickets and nothing else.

``/t/{payment_id}`` needs no key (the payment ID is the secret), so it must show exactly that
payment's tickets: no other order's holder, ticket ID, barcode or payment ID, even of the same
contact on the same event. A scan at one event with another event's barcode (same or another
organization) answers exactly like an unknown barcode. HTML pages carry security headers.
"""

from __future__ import annotations

import re
from typing import Any

from tessera.kit import ids
from tests.support import ApiClient, Tenant


def _order(tenant: Tenant, event_id: str, class_id: str, email: str, first: str) -> dict[str, Any]:
    response = tenant.post(
        f"/api/v1/events/{event_id}/attendees",
        {
            "ticket_class_id": class_id,
            "quantity": 2,
            "contact": {"email": email, "first_name": first, "last_name": "Holder"},
        },
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _secrets_of(order: dict[str, Any]) -> list[str]:
    values = [order["payment_id"]]
    for ticket in order["data"]:
        values += [ticket["id"], ticket["barcode"]]
    return values


def test_the_ticket_page_shows_only_its_own_order(api: ApiClient) -> None:
    tenant = api.tenant()
    event = tenant.make_event()
    tc = tenant.general_admission(event["id"])
    mine = _order(tenant, event["id"], tc["id"], "mine@example.com", "Mina")
    same_contact = _order(tenant, event["id"], tc["id"], "mine@example.com", "Mina")
    stranger = _order(tenant, event["id"], tc["id"], "stranger@example.com", "Strangerina")

    page = api.client.get(f"/t/{mine['payment_id']}")
    calendar = api.client.get(f"/t/{mine['payment_id']}/event.ics")
    assert page.status_code == 200 and calendar.status_code == 200
    assert "Mina" in page.text
    for text in (page.text, calendar.text):
        for leaked in _secrets_of(same_contact) + _secrets_of(stranger):
            assert leaked not in text, f"the ticket page shows {leaked} of another order"
        assert "Strangerina" not in text and "stranger@example.com" not in text

    # Only a payment ID opens a page: not a ticket ID, a barcode, or an unknown payment.
    missing = api.client.get(f"/t/{ids.payment_id()}")
    assert missing.status_code == 404
    for other_identifier in (mine["data"][0]["id"], mine["data"][0]["barcode"], event["id"]):
        response = api.client.get(f"/t/{other_identifier}")
        assert response.status_code == 404
        assert response.content == missing.content


def test_a_scan_shows_only_the_scanned_ticket_of_that_event(api: ApiClient) -> None:
    tenant, stranger = api.tenant("Door"), api.tenant("Elsewhere")
    event, sibling = tenant.make_event(), tenant.make_event(name="Sibling")
    foreign = stranger.make_event(name="Foreign")
    here = _order(tenant, event["id"], tenant.general_admission(event["id"])["id"], "a@x.io", "A")
    there = _order(
        tenant, sibling["id"], tenant.general_admission(sibling["id"])["id"], "b@x.io", "B"
    )
    abroad = _order(
        stranger, foreign["id"], stranger.general_admission(foreign["id"])["id"], "c@x.io", "C"
    )
    path = f"/api/v1/events/{event['id']}/check-ins"

    unknown = tenant.post(path, {"barcode": ids.barcode()})
    assert unknown.status_code == 404
    for barcode in (there["data"][0]["barcode"], abroad["data"][0]["barcode"]):
        refused = tenant.post(path, {"barcode": barcode})
        assert (refused.status_code, refused.content) == (404, unknown.content)

    scanned = tenant.post(path, {"barcode": here["data"][0]["barcode"]})
    assert scanned.status_code == 200, scanned.text
    assert scanned.json()["data"]["id"] == here["data"][0]["id"]
    assert here["data"][1]["id"] not in scanned.text  # the other ticket of the same order
    again = tenant.post(path, {"barcode": here["data"][0]["barcode"]})
    assert again.status_code == 409
    assert here["data"][1]["barcode"] not in again.text


def _frame_protected(headers: Any) -> bool:
    policy = headers.get("content-security-policy", "")
    return headers.get("x-frame-options") == "DENY" or bool(
        re.search(r"frame-ancestors 'none'", policy)
    )


def test_html_pages_carry_security_headers(api: ApiClient) -> None:
    tenant = api.tenant()
    event = tenant.make_event()
    order = _order(tenant, event["id"], tenant.general_admission(event["id"])["id"], "h@x.io", "H")
    ticket_pages = [f"/t/{order['payment_id']}", f"/t/{ids.payment_id()}"]
    for path in [*ticket_pages, "/docs"]:
        response = api.client.get(path)
        assert response.headers["content-type"].startswith("text/html"), path
        assert response.headers.get("x-content-type-options") == "nosniff", path
        assert _frame_protected(response.headers), path
        assert response.headers.get("referrer-policy") == "no-referrer", path
    for path in ticket_pages:  # the payment ID in the URL is a secret
        headers = api.client.get(path).headers
        assert headers.get("cache-control") == "no-store", path
        assert "default-src 'none'" in headers.get("content-security-policy", ""), path
        assert "noindex" in headers.get("x-robots-tag", ""), path
    calendar = api.client.get(f"/t/{order['payment_id']}/event.ics")
    assert calendar.headers.get("x-content-type-options") == "nosniff"
    assert calendar.headers.get("cache-control") == "no-store"
    api_response = tenant.get("/api/v1/events")
    assert api_response.headers.get("x-content-type-options") == "nosniff"
