"""Questions on the manual-add form and answers on an attendee's page (SPEC §8 with §10),
on SQLite and PostgreSQL: fields named by question id, checked by the question service with
``required`` not binding, messages beside the field, what was typed kept."""

from __future__ import annotations

import re
from typing import Any

from tests.dashboard.conftest import User, user
from tests.support import ApiClient, Tenant

KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')


def _question(tenant: Tenant, event_id: str, **fields: Any) -> dict[str, Any]:
    response = tenant.post(f"/api/v1/events/{event_id}/questions", fields)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()["data"]
    return created


def _setup(api: ApiClient) -> tuple[Tenant, User, str, str, dict[str, str]]:
    tenant = api.tenant()
    owner = user(api, tenant)
    event = tenant.make_event()
    ga = tenant.make_ticket_class(event["id"], name="GA")
    vip = tenant.make_ticket_class(event["id"], name="VIP")
    q = {
        "company": _question(tenant, event["id"], label="Company", type="text", required=True),
        "size": _question(
            tenant, event["id"], label="Size", type="single_choice", options=["S", "M"]
        ),
        "diet": _question(
            tenant, event["id"], label="Diet", type="multiple_choice", options=["Vegan", "Halal"]
        ),
        "age": _question(tenant, event["id"], label="Age", type="number"),
        "vip": _question(
            tenant, event["id"], label="Lounge", type="text", ticket_class_ids=[vip["id"]]
        ),
    }
    return tenant, owner, event["id"], ga["id"], {k: v["id"] for k, v in q.items()}


def _key(owner: User, event_id: str) -> tuple[str, str]:
    page = owner.get(f"/dashboard/events/{event_id}/attendees/new")
    assert page.status_code == 200
    found = KEY.search(page.text)
    assert found
    return found.group(1), page.text


def test_the_form_asks_each_question_by_its_id(api: ApiClient) -> None:
    _, owner, event_id, _, q = _setup(api)
    _, html = _key(owner, event_id)
    assert re.search(rf'<input id="{q["company"]}" name="{q["company"]}" type="text"', html)
    assert len(re.findall(rf'name="{q["size"]}" type="radio"', html)) == 2
    assert len(re.findall(rf'name="{q["diet"]}" type="checkbox"', html)) == 2
    assert re.search(rf'name="{q["age"]}" type="number"', html)
    assert "(only VIP)" in html


def test_answers_are_stored_and_shown_on_the_attendee_page(api: ApiClient) -> None:
    tenant, owner, event_id, class_id, q = _setup(api)
    key, _ = _key(owner, event_id)
    response = owner.post(
        f"/dashboard/events/{event_id}/attendees/new",
        {
            "idempotency_key": key,
            "ticket_class_id": class_id,
            "email": "ann@example.com",
            "first_name": "Ann",
            "quantity": "1",
            q["size"]: "m",
            q["diet"]: ["Halal", "Vegan"],
            q["age"]: "41",
            # The name the form used before questions existed is still read.
            f"answer_{q['company']}": "Acme",
            q["vip"]: "not this class's question: ignored",
        },
    )
    assert response.status_code == 303, response.text
    listed = tenant.get(f"/api/v1/events/{event_id}/attendees").json()["data"]
    assert listed[0]["answers"] == {
        q["company"]: "Acme",
        q["size"]: "M",
        q["diet"]: ["Vegan", "Halal"],
        q["age"]: 41,
    }
    page = owner.get(response.headers["location"]).text
    section = page[page.index('id="answers"') :]
    assert '<th scope="row">Size</th><td>M</td>' in section
    assert '<th scope="row">Diet</th><td>Vegan; Halal</td>' in section
    assert '<th scope="row">Company</th><td>Acme</td>' in section


def test_required_does_not_bind_and_a_bad_answer_is_shown_beside_its_field(
    api: ApiClient,
) -> None:
    tenant, owner, event_id, class_id, q = _setup(api)
    key, _ = _key(owner, event_id)
    form = {
        "idempotency_key": key,
        "ticket_class_id": class_id,
        "email": "bob@example.com",
        "quantity": "1",
        q["age"]: "forty",
        q["diet"]: ["Vegan"],
    }
    refused = owner.post(f"/dashboard/events/{event_id}/attendees/new", form)
    assert refused.status_code == 400
    html = refused.text
    assert f'<p class="field-error" id="{q["age"]}-error">Answer must be a number' in html
    assert re.search(
        rf'name="{q["age"]}" type="number" value="forty"[^>]*aria-invalid="true"', html
    )
    assert re.search(rf'name="{q["diet"]}" type="checkbox" value="Vegan" checked', html)
    assert f'id="{q["company"]}-error"' not in html  # required does not bind here
    assert tenant.get(f"/api/v1/events/{event_id}/attendees").json()["data"] == []
    form[q["age"]] = "40"
    accepted = owner.post(f"/dashboard/events/{event_id}/attendees/new", form)
    assert accepted.status_code == 303, accepted.text
    listed = tenant.get(f"/api/v1/events/{event_id}/attendees").json()["data"]
    assert listed[0]["answers"] == {q["age"]: 40, q["diet"]: ["Vegan"]}
    page = owner.get(accepted.headers["location"]).text
    assert "Company" not in page[page.index('id="answers"') :]
