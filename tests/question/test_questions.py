"""Questions (SPEC §10): CRUD, answers on Create Attendee, validation per type."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tessera import db as database
from tests.support import ApiClient, Tenant


@pytest.fixture
def acme(api: ApiClient) -> Tenant:
    return api.tenant("Acme")


def qpath(event_id: str) -> str:
    return f"/api/v1/events/{event_id}/questions"


def make_question(tenant: Tenant, event_id: str, **fields: Any) -> dict[str, Any]:
    body = {"label": "Company", "type": "text", **fields}
    response = tenant.post(qpath(event_id), body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()["data"]
    return created


def test_create_get_list_update_delete(acme: Tenant) -> None:
    event = acme.make_event()
    created = make_question(
        acme, event["id"], label="T-shirt size", type="single_choice", options=["S", "M", "L"]
    )
    assert created["id"].startswith("q_") and len(created["id"]) == 22
    assert created["options"] == ["S", "M", "L"]
    assert created["required"] is False and created["ticket_class_ids"] == []
    assert created["position"] == 0
    second = make_question(acme, event["id"], label="Company")
    assert second["position"] == 1
    got = acme.get(f"{qpath(event['id'])}/{created['id']}")
    assert got.status_code == 200 and got.json()["data"] == created
    listed = acme.get(qpath(event["id"])).json()["data"]
    assert [q["id"] for q in listed] == [created["id"], second["id"]]

    patched = acme.patch(f"{qpath(event['id'])}/{second['id']}", {"position": -0 or 0})
    assert patched.status_code == 200
    patched = acme.patch(
        f"{qpath(event['id'])}/{created['id']}", {"required": True, "options": ["S", "M"]}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["data"]["required"] is True
    assert patched.json()["data"]["options"] == ["S", "M"]
    refused = acme.patch(f"{qpath(event['id'])}/{created['id']}", {"type": "text"})
    assert refused.status_code == 400
    assert "type" in refused.json()["details"]["fieldErrors"]

    deleted = acme.delete(f"{qpath(event['id'])}/{created['id']}")
    assert deleted.status_code == 200 and deleted.json() == {"deleted": True, "id": created["id"]}
    assert acme.get(f"{qpath(event['id'])}/{created['id']}").status_code == 404
    assert acme.delete(f"{qpath(event['id'])}/{created['id']}").status_code == 404
    assert [q["id"] for q in acme.get(qpath(event["id"])).json()["data"]] == [second["id"]]


def test_create_is_idempotent(acme: Tenant) -> None:
    event = acme.make_event()
    headers = {"Idempotency-Key": "q-1"}
    first = acme.post(qpath(event["id"]), {"label": "Company", "type": "text"}, headers=headers)
    again = acme.post(qpath(event["id"]), {"label": "Company", "type": "text"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replay"] == "true"
    assert first.content == again.content
    assert len(acme.get(qpath(event["id"])).json()["data"]) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"label": "", "type": "text"}, "label"),
        ({"label": "x" * 201, "type": "text"}, "label"),
        ({"label": "Size", "type": "colour"}, "type"),
        ({"label": "Size", "type": "single_choice"}, "options"),
        ({"label": "Size", "type": "single_choice", "options": ["A", "A"]}, "options"),
        ({"label": "Size", "type": "text", "options": ["A"]}, "options"),
        ({"label": "Diet", "type": "multiple_choice", "options": ["a;b"]}, "options"),
        ({"label": " First-Name ", "type": "text"}, "label"),  # a CSV column
        ({"label": "Size", "type": "text", "ticket_class_ids": ["prod_nope"]}, "ticket_class_ids"),
        ({"label": "Size", "type": "text", "extra": 1}, "extra"),
    ],
)
def test_invalid_questions_are_400(acme: Tenant, body: dict[str, Any], field: str) -> None:
    event = acme.make_event()
    response = acme.post(qpath(event["id"]), body)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "validation_failed"
    assert field in response.json()["details"]["fieldErrors"]


def test_label_unique_as_a_csv_header(acme: Tenant) -> None:
    event = acme.make_event()
    make_question(acme, event["id"], label="T-shirt size")
    response = acme.post(qpath(event["id"]), {"label": " t shirt  SIZE", "type": "text"})
    assert response.status_code == 409
    assert response.json()["code"] == "question_label_taken"


def test_scopes_and_tenancy(api: ApiClient, acme: Tenant) -> None:
    event = acme.make_event()
    question = make_question(acme, event["id"])
    reader = acme.new_key("events:read")
    assert reader.get(qpath(event["id"])).status_code == 200
    refused = reader.post(qpath(event["id"]), {"label": "X", "type": "text"})
    assert refused.status_code == 403 and refused.json()["required"] == "events:write"
    other = api.tenant("Other")
    for response in (
        other.get(qpath(event["id"])),
        other.get(f"{qpath(event['id'])}/{question['id']}"),
        other.post(qpath(event["id"]), {"label": "X", "type": "text"}),
        other.delete(f"{qpath(event['id'])}/{question['id']}"),
    ):
        assert response.status_code == 404
        assert response.json()["error"] == "Event not found"


def _create(tenant: Tenant, event_id: str, class_id: str, answers: Any) -> Any:
    return tenant.post(
        f"/api/v1/events/{event_id}/attendees",
        {"ticket_class_id": class_id, "contact": {"email": "a@example.com"}, "answers": answers},
    )


def test_answers_per_type_are_stored_and_shown_everywhere(acme: Tenant) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    q = {
        kind: make_question(acme, event["id"], label=f"Q {kind}", type=kind, **extra)["id"]
        for kind, extra in [
            ("text", {}),
            ("long_text", {}),
            ("single_choice", {"options": ["S", "M"]}),
            ("multiple_choice", {"options": ["Vegan", "Halal", "None"]}),
            ("checkbox", {}),
            ("number", {}),
            ("phone", {}),
            ("date", {}),
        ]
    }
    given = {
        q["text"]: "  Acme  ",
        q["long_text"]: "line one\nline two",
        q["single_choice"]: "M",
        q["multiple_choice"]: ["None", "Vegan"],
        q["checkbox"]: True,
        q["number"]: 3.5,
        q["phone"]: "+1 (555) 010-0100",
        q["date"]: "1990-02-28",
    }
    response = _create(acme, event["id"], ga["id"], given)
    assert response.status_code == 201, response.text
    stored = response.json()["data"][0]["answers"]
    assert stored == {
        **given,
        q["text"]: "Acme",
        q["multiple_choice"]: ["Vegan", "None"],  # in the order of the options
    }
    ticket_id = response.json()["data"][0]["id"]
    got = acme.get(f"/api/v1/events/{event['id']}/attendees/{ticket_id}").json()["data"]
    assert got["answers"] == stored
    listed = acme.get(f"/api/v1/events/{event['id']}/attendees").json()["data"]
    assert listed[0]["answers"] == stored
    patched = acme.patch(
        f"/api/v1/events/{event['id']}/attendees/{ticket_id}", {"status": "checked_in"}
    )
    assert patched.json()["data"]["answers"] == stored


def test_attendee_without_answers_shows_an_empty_object(acme: Tenant) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    response = acme.make_attendees(event["id"], ga["id"])
    assert response.json()["data"][0]["answers"] == {}


@pytest.mark.parametrize(
    ("kind", "extra", "value"),
    [
        ("text", {}, 5),
        ("text", {}, "two\nlines"),
        ("text", {}, "x" * 1001),
        ("long_text", {}, "x" * 10_001),
        ("single_choice", {"options": ["S", "M"]}, "XL"),
        ("single_choice", {"options": ["S", "M"]}, ["S"]),
        ("multiple_choice", {"options": ["A", "B"]}, ["A", "C"]),
        ("multiple_choice", {"options": ["A", "B"]}, "A"),
        ("checkbox", {}, "yes"),
        ("checkbox", {}, 1),
        ("number", {}, "5"),
        ("number", {}, True),
        ("phone", {}, "call me"),
        ("phone", {}, "12"),
        ("date", {}, "28/02/1990"),
        ("date", {}, "1990-02-30"),
        ("date", {}, 19900228),
    ],
)
def test_bad_answers_are_400_on_their_field(
    acme: Tenant, kind: str, extra: dict[str, Any], value: Any
) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    question = make_question(acme, event["id"], label="Q", type=kind, **extra)
    response = _create(acme, event["id"], ga["id"], {question["id"]: value})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "Validation failed" and body["code"] == "validation_failed"
    assert list(body["details"]["fieldErrors"]) == [f"answers.{question['id']}"]
    assert acme.api.count("tickets") == 0


def test_unknown_and_other_class_questions_are_refused(acme: Tenant) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    vip = acme.make_ticket_class(event["id"], name="VIP")
    only_vip = make_question(acme, event["id"], label="Seat", ticket_class_ids=[vip["id"]])
    response = _create(acme, event["id"], ga["id"], {only_vip["id"]: "A1", "q_missing": "x"})
    assert response.status_code == 400
    assert set(response.json()["details"]["fieldErrors"]) == {
        f"answers.{only_vip['id']}",
        "answers.q_missing",
    }
    assert _create(acme, event["id"], vip["id"], {only_vip["id"]: "A1"}).status_code == 201
    for_ga = acme.get(qpath(event["id"]), params={"ticket_class_id": ga["id"]}).json()["data"]
    assert for_ga == []


def test_required_does_not_bind_the_manual_add(acme: Tenant) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    make_question(acme, event["id"], label="Company", required=True)
    response = acme.make_attendees(event["id"], ga["id"])
    assert response.status_code == 201


def test_404s_come_before_answer_validation(acme: Tenant) -> None:
    event = acme.make_event()
    response = _create(acme, event["id"], "prod_nope", {"q_x": "y"})
    assert response.status_code == 404 and response.json()["error"] == "Ticket class not found"
    response = _create(acme, "nope", "prod_nope", {"q_x": "y"})
    assert response.json()["error"] == "Event not found"


def test_deleting_a_question_keeps_the_answers(acme: Tenant) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    question = make_question(acme, event["id"])
    created = _create(acme, event["id"], ga["id"], {question["id"]: "Acme"})
    ticket_id = created.json()["data"][0]["id"]
    assert acme.delete(f"{qpath(event['id'])}/{question['id']}").status_code == 200
    got = acme.get(f"/api/v1/events/{event['id']}/attendees/{ticket_id}").json()["data"]
    assert got["answers"] == {question["id"]: "Acme"}
    # and a new create can no longer answer it
    assert _create(acme, event["id"], ga["id"], {question["id"]: "X"}).status_code == 400


def test_invited_upgrade_carries_new_answers(acme: Tenant) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    question = make_question(acme, event["id"])
    invited = acme.post(
        f"/api/v1/events/{event['id']}/attendees",
        {
            "ticket_class_id": ga["id"],
            "contact": {"email": "a@example.com"},
            "status": "invited",
            "answers": {question["id"]: "Old"},
        },
    )
    assert invited.status_code == 201
    upgraded = _create(acme, event["id"], ga["id"], {question["id"]: "New"})
    assert upgraded.json()["data"][0]["id"] == invited.json()["data"][0]["id"]
    assert upgraded.json()["data"][0]["answers"] == {question["id"]: "New"}


def test_answers_cost_statements_only_when_given(acme: Tenant, api: ApiClient) -> None:
    """The hot path: a create without answers sends what it sent before questions existed (as
    the benchmark sends it, with an Idempotency-Key: 8 statements on SQLite, 3 on PostgreSQL,
    authentication included), even on an event with questions; answers add the read of the
    questions (and in a transaction the event-and-class lookup that must answer 404 first),
    and are stored in the tickets' own insert."""
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    question = make_question(acme, event["id"])

    def statements(email: str, **fields: Any) -> int:
        before = database.STATEMENTS.count
        response = acme.post(
            f"/api/v1/events/{event['id']}/attendees",
            {"ticket_class_id": ga["id"], "contact": {"email": email}, "quantity": 2, **fields},
            headers={"Idempotency-Key": email},
        )
        assert response.status_code == 201, response.text
        return database.STATEMENTS.count - before

    dialect = api.app.state.db.dialect  # type: ignore[attr-defined]
    without = statements("a@example.com")
    assert without == {"sqlite": 8, "postgresql": 3}[dialect]
    with_answers = statements("b@example.com", answers={question["id"]: "Acme"})
    assert with_answers == without + {"sqlite": 2, "postgresql": 1}[dialect]


def test_webhook_payloads_carry_the_answers(acme: Tenant, api: ApiClient) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    question = make_question(acme, event["id"])
    hook = acme.post("/api/v1/webhook-endpoints", {"url": "https://hooks.example.com/a"})
    assert hook.status_code == 201, hook.text
    created = _create(acme, event["id"], ga["id"], {question["id"]: "Acme"})
    ticket_id = created.json()["data"][0]["id"]
    acme.patch(f"/api/v1/events/{event['id']}/attendees/{ticket_id}", {"status": "checked_in"})

    async def payloads(conn: Any) -> list[dict[str, Any]]:
        rows = await conn.fetch(
            "SELECT topic, payload FROM outbox WHERE kind = 'webhook' ORDER BY id"
        )
        return [{"topic": r["topic"], **json.loads(r["payload"])} for r in rows]

    sent = {p["topic"]: p["body"]["data"] for p in api.run(payloads)}
    assert sent["attendee.created"]["answers"] == {question["id"]: "Acme"}
    assert sent["attendee.checked_in"]["answers"] == {question["id"]: "Acme"}
