"""POST /contacts (SPEC §3.5): upsert by email, validation, idempotency, scopes."""

from __future__ import annotations

import re

import pytest

from tests.support import ApiClient, FakeClock, Tenant

CONTACTS = "/api/v1/contacts"
CONTACT_FIELDS = {"id", "email", "first_name", "last_name", "phone", "created_at", "updated_at"}
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def acme(api: ApiClient) -> Tenant:
    return api.tenant()


def test_creates_a_contact_with_a_normalized_email(acme: Tenant) -> None:
    response = acme.post(
        CONTACTS,
        {
            "email": "  Jane.Doe@Example.COM ",
            "first_name": "Jane",
            "last_name": "Doe",
            "phone": "+1 555 0100",
        },
    )
    assert response.status_code == 201, response.text
    contact = response.json()["data"]
    assert set(contact) == CONTACT_FIELDS
    assert contact["id"].startswith("con_") and len(contact["id"]) == 24
    assert contact["email"] == "jane.doe@example.com"
    assert (contact["first_name"], contact["last_name"], contact["phone"]) == (
        "Jane",
        "Doe",
        "+1 555 0100",
    )
    assert TIMESTAMP.match(contact["created_at"]) and contact["updated_at"] == contact["created_at"]
    assert response.headers["location"] == f"{CONTACTS}/{contact['id']}"
    assert acme.get(f"{CONTACTS}/{contact['id']}").json() == {"data": contact}


def test_only_the_email_is_required(acme: Tenant) -> None:
    response = acme.post(CONTACTS, {"email": "solo@example.com"})
    assert response.status_code == 201, response.text
    contact = response.json()["data"]
    assert (contact["first_name"], contact["last_name"], contact["phone"]) == (None, None, None)


def test_an_existing_email_in_any_case_updates_that_contact(
    acme: Tenant, api: ApiClient, clock: FakeClock
) -> None:
    first = acme.post(
        CONTACTS,
        {"email": "jane@example.com", "first_name": "Jane", "last_name": "Doe", "phone": "555"},
    ).json()["data"]
    clock.advance(seconds=2)
    response = acme.post(CONTACTS, {"email": " JANE@Example.com", "first_name": "Janet"})
    assert response.status_code == 200, response.text
    assert "location" not in response.headers
    again = response.json()["data"]
    assert again["id"] == first["id"]
    assert again["email"] == "jane@example.com"
    assert (again["first_name"], again["last_name"], again["phone"]) == ("Janet", "Doe", "555")
    assert again["created_at"] == first["created_at"]
    assert again["updated_at"] > first["updated_at"]
    assert api.count("contacts") == 1


def test_empty_or_null_names_keep_the_stored_values(acme: Tenant) -> None:
    first = acme.post(
        CONTACTS,
        {"email": "jane@example.com", "first_name": "Jane", "last_name": "Doe", "phone": "555"},
    ).json()["data"]
    response = acme.post(
        CONTACTS, {"email": "jane@example.com", "first_name": "", "last_name": None, "phone": "   "}
    )
    assert response.status_code == 200, response.text
    again = response.json()["data"]
    assert again["id"] == first["id"]
    assert (again["first_name"], again["last_name"], again["phone"]) == ("Jane", "Doe", "555")


def test_the_same_email_in_two_organizations_is_two_contacts(api: ApiClient, acme: Tenant) -> None:
    globex = api.tenant("Globex")
    mine = acme.post(CONTACTS, {"email": "jane@example.com", "first_name": "Jane"})
    theirs = globex.post(CONTACTS, {"email": "jane@example.com", "first_name": "Other"})
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["data"]["id"] != theirs.json()["data"]["id"]
    assert acme.get(f"{CONTACTS}/{mine.json()['data']['id']}").json()["data"]["first_name"] == (
        "Jane"
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "email"),
        ({"email": None}, "email"),
        ({"email": ""}, "email"),
        ({"email": "not-an-address"}, "email"),
        ({"email": "jane@localhost"}, "email"),
        ({"email": "a" * 250 + "@example.com"}, "email"),
        ({"email": 42}, "email"),
        ({"email": "jane@example.com", "first_name": "x" * 101}, "first_name"),
        ({"email": "jane@example.com", "last_name": "x" * 101}, "last_name"),
        ({"email": "jane@example.com", "phone": "1" * 41}, "phone"),
        ({"email": "jane@example.com", "first_name": 7}, "first_name"),
        ({"email": "jane@example.com", "nickname": "JD"}, "nickname"),
    ],
)
def test_invalid_bodies_are_refused_and_write_nothing(
    api: ApiClient, acme: Tenant, body: dict[str, object], field: str
) -> None:
    response = acme.post(CONTACTS, body, headers={"Idempotency-Key": "bad-body"})
    assert response.status_code == 400, response.text
    payload = response.json()
    assert payload["error"] == "Validation failed"
    assert payload["code"] == "validation_failed"
    assert list(payload["details"]["fieldErrors"]) == [field]
    assert api.count("contacts") == 0
    assert api.count("idempotency_keys") == 0


def test_names_at_the_limit_are_accepted(acme: Tenant) -> None:
    response = acme.post(
        CONTACTS,
        {
            "email": "jane@example.com",
            "first_name": "x" * 100,
            "last_name": "y" * 100,
            "phone": "1" * 40,
        },
    )
    assert response.status_code == 201, response.text


def test_an_idempotent_retry_replays_the_stored_response(api: ApiClient, acme: Tenant) -> None:
    body = {"email": "jane@example.com", "first_name": "Jane"}
    first = acme.post(CONTACTS, body, headers={"Idempotency-Key": "contact-1"})
    assert first.status_code == 201, first.text
    assert "idempotent-replay" not in first.headers
    # Another write in between must not leak into the replay.
    acme.post(CONTACTS, {"email": "jane@example.com", "first_name": "Changed"})

    replay = acme.post(CONTACTS, body, headers={"Idempotency-Key": "contact-1"})
    assert replay.status_code == 201
    assert replay.headers["idempotent-replay"] == "true"
    assert replay.content == first.content
    assert replay.headers["location"] == first.headers["location"]
    assert api.count("contacts") == 1


def test_an_idempotency_key_reused_with_another_body_is_refused(acme: Tenant) -> None:
    acme.post(CONTACTS, {"email": "jane@example.com"}, headers={"Idempotency-Key": "k"})
    response = acme.post(CONTACTS, {"email": "john@example.com"}, headers={"Idempotency-Key": "k"})
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"


def test_scopes(acme: Tenant) -> None:
    reader = acme.new_key("contacts:read")
    response = reader.post(CONTACTS, {"email": "jane@example.com"})
    assert response.status_code == 403
    assert response.json() == {
        "error": "insufficient_scope",
        "code": "insufficient_scope",
        "required": "contacts:write",
    }
    nobody = acme.new_key("events:write")
    response = nobody.get(CONTACTS)
    assert response.status_code == 403
    assert response.json() == {
        "error": "insufficient_scope",
        "code": "insufficient_scope",
        "required": "contacts:read",
    }
    assert reader.get(CONTACTS).status_code == 200


def test_a_missing_key_is_401(api: ApiClient) -> None:
    response = api.client.post(CONTACTS, json={"email": "jane@example.com"})
    assert response.status_code == 401
    assert response.json()["error"] == "Missing X-API-KEY header"
