"""POST /e/{eventId}/register: self-registration through Create Attendee's service (SPEC §9)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tessera.app import create_app
from tessera.config import Settings
from tests.public.support import (
    class_state,
    csrf_tokens,
    field_error,
    form_body,
    register,
    value_of,
)
from tests.support import ApiClient, FakeClock, Tenant, row_counts


def _tickets(tenant: Tenant, event_id: str, status: str = "valid,pending_approval") -> list[dict]:
    response = tenant.get(f"/api/v1/events/{event_id}/attendees?status={status}")
    assert response.status_code == 200
    data: list[dict] = response.json()["data"]
    return data


def test_registration_issues_free_tickets_and_lands_on_the_ticket_page(api: ApiClient) -> None:
    acme = api.tenant()
    event = acme.make_event(capacity=10)
    ga = acme.general_admission(event["id"])
    response = register(acme, event["id"], ga["id"], "Ada@Example.com ", quantity=2)
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/t/pay_")
    tickets = _tickets(acme, event["id"])
    assert len(tickets) == 2
    assert {t["status"] for t in tickets} == {"valid"}
    assert {t["payment_method"] for t in tickets} == {"free"}
    assert tickets[0]["email"] == "ada@example.com"
    assert tickets[0]["first_name"] == "Ada" and tickets[0]["last_name"] == "Lovelace"
    assert location == f"/t/{tickets[0]['payment_id']}"
    payment = acme.get(f"/api/v1/payments/{tickets[0]['payment_id']}").json()["data"]
    assert payment["method"] == "free" and payment["amount"] == "0.00"
    # Always the confirmation email, one for the request.
    assert api.count("outbox", "topic = 'attendee.confirmation'") == 1
    page = api.client.get(location)
    assert page.status_code == 200 and "Ada Lovelace" in page.text
    assert "8 left" in api.client.get(f"/e/{event['id']}").text


def test_approval_required_lands_on_the_waiting_page(api: ApiClient) -> None:
    acme = api.tenant()
    event = acme.make_event(require_approval=True)
    ga = acme.general_admission(event["id"])
    response = register(acme, event["id"], ga["id"])
    assert response.status_code == 303
    assert response.headers["location"] == f"/e/{event['id']}/pending"
    assert [t["status"] for t in _tickets(acme, event["id"])] == ["pending_approval"]
    assert api.count("outbox", "topic = 'attendee.confirmation'") == 1
    waiting = api.client.get(response.headers["location"])
    assert waiting.status_code == 200 and "waiting for approval" in waiting.text


def test_invalid_fields_rerender_the_form_with_messages_and_what_was_typed(
    api: ApiClient,
) -> None:
    acme = api.tenant()
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    api.client.get(f"/e/{event['id']}")  # the form's signing key exists from the first view
    before = row_counts(api)
    response = register(
        acme, event["id"], ga["id"], "not-an-email", first_name="", last_name="Byron"
    )
    assert response.status_code == 400
    html = response.text
    assert field_error(html, "email") == "Enter a valid email address, like name@example.com."
    assert field_error(html, "first_name") == "Enter your first name."
    assert value_of(html, "email") == "not-an-email"
    assert value_of(html, "last_name") == "Byron"
    assert len(csrf_tokens(html)) == 1  # a fresh token to submit again
    assert row_counts(api) == before


@pytest.mark.parametrize(
    ("quantity", "message"),
    [("0", "between 2 and 4"), ("5", "between 2 and 4"), ("two", "whole number")],
)
def test_quantity_within_the_per_order_limits(api: ApiClient, quantity: str, message: str) -> None:
    acme = api.tenant()
    event = acme.make_event()
    tc = acme.make_ticket_class(event["id"], minimum_per_order=2, maximum_per_order=4)
    response = register(acme, event["id"], tc["id"], quantity=quantity)
    assert response.status_code == 400
    assert message in (field_error(response.text, "quantity") or "")
    assert register(acme, event["id"], tc["id"], quantity="3").status_code == 303


def test_priced_hidden_unknown_and_off_sale_classes_are_refused(api: ApiClient) -> None:
    acme = api.tenant()
    event = acme.make_event()
    priced = acme.make_ticket_class(event["id"], name="VIP", cost="25.00")
    hidden = acme.make_ticket_class(event["id"], name="Crew", hide_on_event_page=True)
    later = acme.make_ticket_class(event["id"], name="Later", sales_start="2099-01-01T00:00:00Z")
    ended = acme.make_ticket_class(event["id"], name="Ended", sales_end="2020-01-01T00:00:00Z")
    api.client.get(f"/e/{event['id']}")  # the form's signing key exists from the first view
    before = row_counts(api)
    expected = {
        priced["id"]: "This ticket is available from the organizer.",
        hidden["id"]: "Choose a ticket.",
        "prod_unknown": "Choose a ticket.",
        later["id"]: "not on sale yet",
        ended["id"]: "Sales for this ticket have ended.",
    }
    for class_id, message in expected.items():
        response = register(acme, event["id"], class_id)
        assert response.status_code == 400, class_id
        assert message in (field_error(response.text, "ticket_class_id") or ""), class_id
    assert row_counts(api) == before


def test_closed_registration_writes_nothing(api: ApiClient) -> None:
    acme = api.tenant()
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    page = api.client.get(f"/e/{event['id']}")
    token = csrf_tokens(page.text)[0]
    acme.patch(f"/api/v1/events/{event['id']}", {"registration_status": "closed"})
    api.client.get(f"/e/{event['id']}")  # the form's signing key exists from the first view
    before = row_counts(api)
    response = api.client.post(
        f"/e/{event['id']}/register", data=form_body(token, ga["id"], "x@example.com")
    )
    assert response.status_code == 409
    assert "Registration is closed" in response.text
    assert row_counts(api) == before


def test_full_class_rerenders_with_the_seats_left(api: ApiClient) -> None:
    acme = api.tenant()
    event = acme.make_event()
    tc = acme.make_ticket_class(event["id"], name="Small", quantity_total=3)
    assert register(acme, event["id"], tc["id"], "a@example.com").status_code == 303
    api.client.get(f"/e/{event['id']}")  # the form's signing key exists from the first view
    before = row_counts(api)
    response = register(acme, event["id"], tc["id"], "b@example.com", quantity="3")
    assert response.status_code == 409
    assert field_error(response.text, "quantity") == "Only 2 left."
    assert value_of(response.text, "email") == "b@example.com"
    assert register(acme, event["id"], tc["id"], "c@example.com", quantity="2").status_code == 303
    response = register(acme, event["id"], tc["id"], "d@example.com")
    assert response.status_code == 409
    assert "Sold out" in response.text
    assert class_state(response.text, tc["id"]) == "sold_out"
    assert row_counts(api)["tickets"] == before["tickets"] + 2


def test_full_event_between_render_and_submit_is_refused_by_the_exact_rule(api: ApiClient) -> None:
    acme = api.tenant()
    event = acme.make_event(capacity=1)
    ga = acme.general_admission(event["id"])
    page = api.client.get(f"/e/{event['id']}")
    token = csrf_tokens(page.text)[0]
    assert acme.make_attendees(event["id"], ga["id"]).status_code == 201  # the organizer's add
    response = api.client.post(
        f"/e/{event['id']}/register", data=form_body(token, ga["id"], "late@example.com")
    )
    assert response.status_code == 409
    assert "Sold out" in response.text
    assert len(_tickets(acme, event["id"])) == 1


def test_a_double_submit_issues_one_batch(api: ApiClient) -> None:
    acme = api.tenant()
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    token = csrf_tokens(api.client.get(f"/e/{event['id']}").text)[0]
    body = form_body(token, ga["id"], "twice@example.com", quantity="2")
    first = api.client.post(f"/e/{event['id']}/register", data=body, follow_redirects=False)
    second = api.client.post(f"/e/{event['id']}/register", data=body, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert len(_tickets(acme, event["id"])) == 2
    assert api.count("payments") == 1
    assert api.count("outbox", "topic = 'attendee.confirmation'") == 1
    # The same rendered form with another person's details is its own registration.
    other = form_body(token, ga["id"], "someone.else@example.com")
    third = api.client.post(f"/e/{event['id']}/register", data=other, follow_redirects=False)
    assert third.status_code == 303 and third.headers["location"] != first.headers["location"]


def test_a_double_submit_that_took_the_last_seat_answers_both_clicks_alike(
    api: ApiClient,
) -> None:
    """The second click of a post that took the last seat lands where the first did (the
    stored answer), not on "Sold out"; a newcomer then sees the sold-out form."""
    acme = api.tenant()
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    path = f"/api/v1/events/{event['id']}/ticket-classes/{ga['id']}"
    assert acme.patch(path, {"quantity_total": 1}).status_code == 200
    token = csrf_tokens(api.client.get(f"/e/{event['id']}").text)[0]
    body = form_body(token, ga["id"], "last@example.com")
    first = api.client.post(f"/e/{event['id']}/register", data=body, follow_redirects=False)
    second = api.client.post(f"/e/{event['id']}/register", data=body, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert len(_tickets(acme, event["id"])) == 1
    late = form_body(token, ga["id"], "late@example.com")
    refused = api.client.post(f"/e/{event['id']}/register", data=late, follow_redirects=False)
    assert refused.status_code == 409 and "Sold out" in refused.text
    assert len(_tickets(acme, event["id"])) == 1


def test_csrf_token_and_cookie_are_required(api: ApiClient) -> None:
    acme = api.tenant()
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    token = csrf_tokens(api.client.get(f"/e/{event['id']}").text)[0]
    other_event = acme.make_event()
    api.client.get(f"/e/{event['id']}")  # the form's signing key exists from the first view
    before = row_counts(api)
    path = f"/e/{event['id']}/register"
    forged = api.client.post(path, data=form_body("abc.def", ga["id"], "f@example.com"))
    assert forged.status_code == 403
    assert "expired or came from elsewhere" in forged.text
    assert value_of(forged.text, "email") == "f@example.com"
    # A token of another event's page does not fit this one.
    elsewhere = csrf_tokens(api.client.get(f"/e/{other_event['id']}").text)[0]
    assert (
        api.client.post(path, data=form_body(elsewhere, ga["id"], "f@example.com")).status_code
        == 403
    )
    # Without the cookie the token proves nothing.
    api.client.cookies.clear()
    assert (
        api.client.post(path, data=form_body(token, ga["id"], "f@example.com")).status_code == 403
    )
    assert row_counts(api) == before


def test_honeypot_writes_nothing_and_answers_like_a_success(api: ApiClient) -> None:
    acme = api.tenant()
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    register(acme, event["id"], ga["id"], "warm@example.com")  # the secret exists already
    api.client.get(f"/e/{event['id']}")  # the form's signing key exists from the first view
    before = row_counts(api)
    response = register(acme, event["id"], ga["id"], "bot@example.com", website="http://spam")
    assert response.status_code == 303
    assert response.headers["location"] == f"/e/{event['id']}/pending"
    assert row_counts(api) == before


def test_an_invited_contact_registering_is_upgraded_by_the_same_service(api: ApiClient) -> None:
    acme = api.tenant()
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    invited = acme.make_attendees(event["id"], ga["id"], "guest@example.com", status="invited")
    ticket_id = invited.json()["data"][0]["id"]
    response = register(acme, event["id"], ga["id"], "guest@example.com")
    assert response.status_code == 303
    tickets = _tickets(acme, event["id"])
    assert [t["id"] for t in tickets] == [ticket_id]
    assert tickets[0]["status"] == "valid" and tickets[0]["payment_method"] == "free"


@pytest.fixture
def limited_api(settings: Settings, clock: FakeClock, tmp_path: Path) -> Iterator[ApiClient]:
    app = create_app(settings.model_copy(update={"rate_limit_per_minute": 3}), clock=clock)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield ApiClient(client)


def test_per_client_rate_limit(limited_api: ApiClient) -> None:
    api = limited_api
    acme = api.tenant()
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    token = csrf_tokens(api.client.get(f"/e/{event['id']}").text)[0]
    path = f"/e/{event['id']}/register"
    statuses = [
        api.client.post(
            path, data=form_body(token, ga["id"], f"r{i}@example.com"), follow_redirects=False
        ).status_code
        for i in range(4)
    ]
    assert statuses == [303, 303, 303, 429]
    limited = api.client.post(path, data=form_body(token, ga["id"], "r9@example.com"))
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert "Too many attempts" in limited.text
    assert len(_tickets(acme, event["id"])) == 3


def test_hostile_bodies_are_answered_without_writing(api: ApiClient) -> None:
    acme = api.tenant()
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    token = csrf_tokens(api.client.get(f"/e/{event['id']}").text)[0]
    before = row_counts(api)
    path = f"/e/{event['id']}/register"
    huge = api.client.post(
        path,
        content=b"a=" + b"x" * 70_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert huge.status_code == 413
    nul = api.client.post(
        path, data=form_body(token, ga["id"], "n@example.com", first_name="A\x00B")
    )
    assert nul.status_code == 400
    assert field_error(nul.text, "first_name") == "Enter your first name."
    many = "&".join(f"f{i}=1" for i in range(300))
    flood = api.client.post(
        path, content=many.encode(), headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert flood.status_code == 403
    as_json = api.client.post(path, json={"csrf_token": token, "email": "j@example.com"})
    assert as_json.status_code == 403
    assert row_counts(api) == before
