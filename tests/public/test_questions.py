"""Questions on the public registration form (SPEC §9 with §10): asked, checked, stored.

Each question is one field named by its id (multiple choice repeats it); ``required`` binds
here; only the questions that apply to the chosen class bind; a bad or missing answer
re-renders the form with the message beside the question and every typed value kept.
"""

from __future__ import annotations

import re
from html import unescape
from typing import Any
from urllib.parse import quote_plus

import pytest

from tessera.errors import ValidationFailed
from tessera.public import register
from tests.public.support import csrf_tokens, field_error, form_body
from tests.support import ApiClient, Tenant


def _question(tenant: Tenant, event_id: str, **fields: Any) -> dict[str, Any]:
    response = tenant.post(f"/api/v1/events/{event_id}/questions", fields)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()["data"]
    return created


def _event_with_questions(tenant: Tenant) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    event = tenant.make_event(capacity=20)
    ga = tenant.general_admission(event["id"])
    vip = tenant.make_ticket_class(event["id"], name="VIP")
    ids = {
        "company": _question(tenant, event["id"], label="Company", type="text", required=True),
        "size": _question(
            tenant, event["id"], label="T-shirt", type="single_choice", options=["S", "M", "L"]
        ),
        "diet": _question(
            tenant,
            event["id"],
            label="Diet",
            type="multiple_choice",
            options=["Vegan", "No nuts", "Halal"],
        ),
        "terms": _question(tenant, event["id"], label="I accept", type="checkbox", required=True),
        "age": _question(tenant, event["id"], label="Age", type="number"),
        "born": _question(tenant, event["id"], label="Birthday", type="date"),
        "phone": _question(tenant, event["id"], label="Mobile", type="phone"),
        "bio": _question(tenant, event["id"], label="About you", type="long_text"),
        "vip_only": _question(
            tenant,
            event["id"],
            label="Lounge guest",
            type="text",
            required=True,
            ticket_class_ids=[vip["id"]],
        ),
    }
    return event, ga, {"vip": vip, **{k: v["id"] for k, v in ids.items()}}


def _post(tenant: Tenant, event_id: str, class_id: str, pairs: list[tuple[str, str]]) -> Any:
    client = tenant.api.client
    page = client.get(f"/e/{event_id}")
    assert page.status_code == 200, page.text
    body = list(form_body(csrf_tokens(page.text)[0], class_id, "ada@example.com").items())
    return client.post(
        f"/e/{event_id}/register",
        content="&".join(f"{k}={_q(v)}" for k, v in body + pairs),
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )


def _q(value: str) -> str:
    return quote_plus(value)


def test_the_page_renders_each_question_by_its_type(api: ApiClient) -> None:
    acme = api.tenant()
    event, _, q = _event_with_questions(acme)
    html = api.client.get(f"/e/{event['id']}").text
    assert re.search(rf'<input id="{q["company"]}" name="{q["company"]}" type="text"', html)
    assert len(re.findall(rf'name="{q["size"]}" type="radio"', html)) == 3
    assert len(re.findall(rf'name="{q["diet"]}" type="checkbox"', html)) == 3
    assert re.search(rf'name="{q["terms"]}" type="checkbox" value="yes"', html)
    assert re.search(rf'name="{q["age"]}" type="number"', html)
    assert re.search(rf'name="{q["born"]}" type="date"', html)
    assert re.search(rf'name="{q["phone"]}" type="tel"', html)
    assert re.search(rf'<textarea id="{q["bio"]}" name="{q["bio"]}"', html)
    # A question of one class says so.
    assert f'id="{q["vip_only"]}-note">Only for: VIP<' in html


def test_answers_are_stored_on_the_ticket(api: ApiClient) -> None:
    acme = api.tenant()
    event, ga, q = _event_with_questions(acme)
    response = _post(
        acme,
        event["id"],
        ga["id"],
        [
            (q["company"], "Analytical Engines"),
            (q["size"], "m"),
            (q["diet"], "Halal"),
            (q["diet"], "Vegan"),
            (q["terms"], "yes"),
            (q["age"], "36"),
            (q["born"], "1815-12-10"),
            (q["phone"], "+44 20 7946 0000"),
            (q["bio"], "Line one\nLine two"),
            # Another class's question is not this class's: its field is ignored, not refused.
            (q["vip_only"], "ignored"),
        ],
    )
    assert response.status_code == 303, response.text
    tickets = acme.get(f"/api/v1/events/{event['id']}/attendees").json()["data"]
    assert len(tickets) == 1
    assert tickets[0]["answers"] == {
        q["company"]: "Analytical Engines",
        q["size"]: "M",
        q["diet"]: ["Vegan", "Halal"],
        q["terms"]: True,
        q["age"]: 36,
        q["born"]: "1815-12-10",
        q["phone"]: "+44 20 7946 0000",
        q["bio"]: "Line one\nLine two",
    }


def test_missing_and_bad_answers_re_render_with_messages_and_typed_values(
    api: ApiClient,
) -> None:
    acme = api.tenant()
    event, ga, q = _event_with_questions(acme)
    response = _post(
        acme,
        event["id"],
        ga["id"],
        [(q["size"], "XXL"), (q["diet"], "Vegan"), (q["age"], "old"), (q["bio"], "kept <text>")],
    )
    assert response.status_code == 400
    html = response.text
    assert field_error(html, q["company"]) == "Answer this question."
    assert field_error(html, q["terms"]) == "Answer this question."
    assert field_error(html, q["size"]) == "This answer must be one of: S, M, L."
    assert field_error(html, q["age"]) == "This answer must be a number, e.g. 42 or 3.5."
    assert field_error(html, q["vip_only"]) is None  # not this class's question
    assert re.search(rf'name="{q["diet"]}" type="checkbox" value="Vegan" checked', html)
    assert not re.search(rf'name="{q["diet"]}" type="checkbox" value="Halal" checked', html)
    assert re.search(rf'name="{q["age"]}" type="number" value="old"', html)
    assert "kept &lt;text&gt;</textarea>" in html
    assert 'aria-invalid="true"' in html
    assert acme.get(f"/api/v1/events/{event['id']}/attendees").json()["data"] == []


def test_a_class_question_binds_only_that_class(api: ApiClient) -> None:
    acme = api.tenant()
    event, _, q = _event_with_questions(acme)
    base = [(q["company"], "Acme"), (q["terms"], "yes")]
    refused = _post(acme, event["id"], q["vip"]["id"], base)
    assert refused.status_code == 400
    assert unescape(field_error(refused.text, q["vip_only"]) or "") == "Answer this question."
    accepted = _post(acme, event["id"], q["vip"]["id"], [*base, (q["vip_only"], "Yes please")])
    assert accepted.status_code == 303, accepted.text
    tickets = acme.get(f"/api/v1/events/{event['id']}/attendees").json()["data"]
    assert tickets[0]["answers"][q["vip_only"]] == "Yes please"


def test_a_question_made_required_after_the_page_was_read_binds_the_submit(
    api: ApiClient,
) -> None:
    """The submit is checked against the questions as they are then, not as the page showed
    them: a question that became required meanwhile is refused beside its field."""
    acme = api.tenant()
    event = acme.make_event(capacity=5)
    ga = acme.general_admission(event["id"])
    company = _question(acme, event["id"], label="Company", type="text")
    client = api.client
    page = client.get(f"/e/{event['id']}")
    token = csrf_tokens(page.text)[0]
    changed = acme.patch(
        f"/api/v1/events/{event['id']}/questions/{company['id']}", {"required": True}
    )
    assert changed.status_code == 200, changed.text
    response = client.post(
        f"/e/{event['id']}/register",
        data=form_body(token, ga["id"], "late@example.com"),
        follow_redirects=False,
    )
    assert response.status_code == 400
    assert field_error(response.text, company["id"]) == "Answer this question."
    assert acme.get(f"/api/v1/events/{event['id']}/attendees").json()["data"] == []


def test_the_registration_checks_the_answers_again_in_its_transaction(api: ApiClient) -> None:
    """``register.register`` (what the form's submit runs in its transaction) validates the raw
    answers itself with ``required`` binding, whatever the form's earlier check found: nothing
    is written when they do not fit, and they are stored as the service cleans them."""
    acme = api.tenant()
    event = acme.make_event(capacity=5)
    ga = acme.general_admission(event["id"])
    company = _question(acme, event["id"], label="Company", type="text", required=True)
    size = _question(acme, event["id"], label="Size", type="single_choice", options=["S", "M"])
    values = {
        "ticket_class_id": ga["id"],
        "quantity": 1,
        "first_name": "Ada",
        "last_name": None,
        "email": "ada@example.com",
        "answers": {size["id"]: "m"},
    }
    now = api.now()
    with pytest.raises(ValidationFailed) as refused:
        api.run(lambda conn: register.register(conn, event["id"], values, now))
    assert refused.value.details == {
        "fieldErrors": {f"answers.{company['id']}": ["This question is required"]}
    }
    assert acme.get(f"/api/v1/events/{event['id']}/attendees").json()["data"] == []
    values["answers"] = {size["id"]: "m", company["id"]: "Acme"}
    outcome = api.run(lambda conn: register.register(conn, event["id"], values, now))
    assert outcome.status == 303
    tickets = acme.get(f"/api/v1/events/{event['id']}/attendees").json()["data"]
    assert tickets[0]["answers"] == {size["id"]: "M", company["id"]: "Acme"}
