"""Manual add is Create Attendee: the same service and the same exactly-once runner, over the
form (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
import threading
from typing import Any

import httpx

from tests.dashboard.conftest import User, user
from tests.support import ApiClient, Tenant

KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')


def _form(owner: User, event_id: str) -> str:
    page = owner.get(f"/dashboard/events/{event_id}/attendees/new")
    assert page.status_code == 200
    found = KEY.search(page.text)
    assert found
    return found.group(1)


def _setup(api: ApiClient, **class_fields: Any) -> tuple[Tenant, User, str, str]:
    tenant = api.tenant()
    owner = user(api, tenant)
    event = tenant.make_event()
    ticket_class = tenant.make_ticket_class(event["id"], **class_fields)
    return tenant, owner, event["id"], ticket_class["id"]


def test_each_form_has_its_own_key_and_a_double_submit_issues_one_batch(api: ApiClient) -> None:
    tenant, owner, event_id, class_id = _setup(api)
    key = _form(owner, event_id)
    assert key != _form(owner, event_id)
    form = {
        "idempotency_key": key,
        "ticket_class_id": class_id,
        "email": " Ann@Example.com ",
        "first_name": "Ann",
        "quantity": "3",
        "payment_method": "free",
        "send_email": "on",
    }
    first = owner.post(f"/dashboard/events/{event_id}/attendees/new", form)
    second = owner.post(f"/dashboard/events/{event_id}/attendees/new", form)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert first.headers["location"].endswith("?issued=3")
    assert api.count("payments") == 1 and api.count("tickets") == 3
    assert api.count("outbox", "topic = $1", "attendee.confirmation") == 1
    listed = tenant.get(f"/api/v1/events/{event_id}/attendees").json()["data"]
    assert {a["email"] for a in listed} == {"ann@example.com"}
    assert {a["payment_method"] for a in listed} == {"free"}
    page = owner.get(first.headers["location"])
    assert "Issued 3 ticket(s)." in page.text


def test_two_submits_at_once_issue_one_batch(api: ApiClient) -> None:
    _, owner, event_id, class_id = _setup(api)
    form = {
        "idempotency_key": _form(owner, event_id),
        "ticket_class_id": class_id,
        "email": "race@example.com",
        "quantity": "2",
        "csrf_token": owner.csrf,
    }
    answers: list[httpx.Response] = []
    url = f"{api.client.base_url!s}/dashboard/events/{event_id}/attendees/new"

    def submit() -> None:
        answers.append(
            api.client.post(
                url,
                data=form,
                follow_redirects=False,
                headers={"cookie": f"tessera_session={owner.token}"},
            )
        )

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [303, 303]
    assert answers[0].headers["location"] == answers[1].headers["location"]
    assert api.count("tickets") == 2 and api.count("payments") == 1


def test_a_full_class_answers_in_the_form_with_the_seats_left(api: ApiClient) -> None:
    tenant, owner, event_id, class_id = _setup(api, quantity_total=3)
    assert tenant.make_attendees(event_id, class_id, quantity=2).status_code == 201
    form = {
        "idempotency_key": _form(owner, event_id),
        "ticket_class_id": class_id,
        "email": "late@example.com",
        "first_name": "Lou",
        "quantity": "2",
    }
    refused = owner.post(f"/dashboard/events/{event_id}/attendees/new", form)
    assert refused.status_code == 409
    assert "Not added: only 1 seat(s) left in this class." in refused.text
    assert 'value="late@example.com"' in refused.text and 'value="Lou"' in refused.text
    new_key = KEY.search(refused.text)
    assert new_key and new_key.group(1) != form["idempotency_key"]
    assert api.count("tickets") == 2
    # The same form, corrected, with its fresh key: added.
    form.update(quantity="1", idempotency_key=new_key.group(1))
    assert owner.post(f"/dashboard/events/{event_id}/attendees/new", form).status_code == 303


def test_the_api_rules_hold_in_the_form(api: ApiClient) -> None:
    tenant, owner, event_id, class_id = _setup(api, require_approval=True)
    url = f"/dashboard/events/{event_id}/attendees/new"
    bad = owner.post(
        url,
        {
            "idempotency_key": _form(owner, event_id),
            "ticket_class_id": class_id,
            "email": "not-an-email",
            "quantity": "0",
        },
    )
    assert bad.status_code == 400
    assert "valid email address" in bad.text and "greater than or equal to 1" in bad.text
    pending = owner.post(
        url,
        {
            "idempotency_key": _form(owner, event_id),
            "ticket_class_id": class_id,
            "email": "p@example.com",
        },
    )
    assert pending.status_code == 303
    listed = tenant.get(f"/api/v1/events/{event_id}/attendees?status=pending_approval").json()
    assert listed["pagination"]["total"] == 1  # the class requires approval: the default
    unknown = owner.post(
        url,
        {
            "idempotency_key": _form(owner, event_id),
            "ticket_class_id": "prod_nope",
            "email": "x@example.com",
        },
    )
    assert unknown.status_code == 404 and "Choose one of this event" in unknown.text
    # Invited upgrade, as the API does it.
    invited = tenant.make_attendees(event_id, class_id, email="inv@example.com", status="invited")
    assert invited.status_code == 201
    upgraded = owner.post(
        url,
        {
            "idempotency_key": _form(owner, event_id),
            "ticket_class_id": class_id,
            "email": "inv@example.com",
            "status": "valid",
        },
    )
    assert upgraded.status_code == 303
    ticket_id = invited.json()["data"][0]["id"]
    assert upgraded.headers["location"].split("?")[0].endswith(ticket_id)
    history = owner.get(upgraded.headers["location"]).text
    assert "Invited → Valid" in history


def test_send_email_follows_the_checkbox_and_scripted_values(api: ApiClient) -> None:
    _, owner, event_id, class_id = _setup(api)
    url = f"/dashboard/events/{event_id}/attendees/new"
    for value, emails in (("false", 0), ("on", 1), ("true", 2), ("0", 2)):
        form = {
            "idempotency_key": _form(owner, event_id),
            "ticket_class_id": class_id,
            "email": f"{value}@example.com",
            "send_email": value,
        }
        assert owner.post(url, form).status_code == 303
        assert api.count("outbox", "topic = $1", "attendee.confirmation") == emails, value
