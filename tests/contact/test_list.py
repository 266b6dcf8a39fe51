"""GET /contacts (SPEC §3.5): pagination, the email and q filters, tenancy."""

from __future__ import annotations

from typing import Any

import pytest

from tests.payment.builders import make_contact
from tests.support import ApiClient, FakeClock, Tenant

CONTACTS = "/api/v1/contacts"


@pytest.fixture
def acme(api: ApiClient) -> Tenant:
    return api.tenant()


def emails(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [contact["email"] for contact in response.json()["data"]]


def test_lists_newest_first_in_the_pagination_envelope(acme: Tenant, clock: FakeClock) -> None:
    for n in range(5):
        make_contact(acme, f"person{n}@example.com")
        clock.advance(seconds=1)
    response = acme.get(CONTACTS, params={"page_size": 2, "page": 2})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"data", "pagination"}
    assert body["pagination"] == {"total": 5, "page": 2, "page_size": 2, "total_pages": 3}
    assert [c["email"] for c in body["data"]] == ["person2@example.com", "person1@example.com"]
    assert emails(acme.get(CONTACTS, params={"page": 3, "page_size": 2})) == ["person0@example.com"]
    assert emails(acme.get(CONTACTS, params={"page": 4, "page_size": 2})) == []
    default = acme.get(CONTACTS).json()["pagination"]
    assert default == {"total": 5, "page": 1, "page_size": 50, "total_pages": 1}


def test_an_empty_list(acme: Tenant) -> None:
    assert acme.get(CONTACTS).json() == {
        "data": [],
        "pagination": {"total": 0, "page": 1, "page_size": 50, "total_pages": 0},
    }


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": 0}, "page"),
        ({"page": "abc"}, "page"),
        ({"page_size": 0}, "page_size"),
        ({"page_size": 201}, "page_size"),
    ],
)
def test_bad_pagination_is_400(acme: Tenant, params: dict[str, Any], field: str) -> None:
    response = acme.get(CONTACTS, params=params)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "Invalid pagination parameters"
    assert list(body["details"]["fieldErrors"]) == [field]


def test_the_email_filter_is_exact_after_trimming_and_lower_casing(acme: Tenant) -> None:
    make_contact(acme, "jane@example.com")
    make_contact(acme, "jane@example.co")
    make_contact(acme, "mary.jane@example.com")
    assert emails(acme.get(CONTACTS, params={"email": "  JANE@Example.com "})) == [
        "jane@example.com"
    ]
    assert emails(acme.get(CONTACTS, params={"email": "jane@example"})) == []
    assert emails(acme.get(CONTACTS, params={"email": "not an address"})) == []


def test_q_searches_names_and_email_case_insensitively(acme: Tenant, clock: FakeClock) -> None:
    make_contact(acme, "ann@example.com", first_name="Annabel", last_name="Smith")
    clock.advance(seconds=1)
    make_contact(acme, "bob@example.com", first_name="Bob", last_name="Hannigan")
    clock.advance(seconds=1)
    make_contact(acme, "joanna@corp.example", first_name="Jo", last_name="Lee")
    clock.advance(seconds=1)
    make_contact(acme, "zed@example.com", first_name="Zed", last_name="Zero")
    assert emails(acme.get(CONTACTS, params={"q": "ANN"})) == [
        "joanna@corp.example",
        "bob@example.com",
        "ann@example.com",
    ]
    assert emails(acme.get(CONTACTS, params={"q": "smith"})) == ["ann@example.com"]
    assert emails(acme.get(CONTACTS, params={"q": "CORP.EX"})) == ["joanna@corp.example"]
    assert emails(acme.get(CONTACTS, params={"q": "nobody"})) == []
    page = acme.get(CONTACTS, params={"q": "ann", "page_size": 1}).json()["pagination"]
    assert page == {"total": 3, "page": 1, "page_size": 1, "total_pages": 3}


def test_q_treats_like_wildcards_literally(acme: Tenant) -> None:
    make_contact(acme, "percent@example.com", first_name="100%")
    make_contact(acme, "under_score@example.com")
    make_contact(acme, "plain@example.com", first_name="Plain")
    assert emails(acme.get(CONTACTS, params={"q": "%"})) == ["percent@example.com"]
    assert emails(acme.get(CONTACTS, params={"q": "_"})) == ["under_score@example.com"]
    assert emails(acme.get(CONTACTS, params={"q": "\\"})) == []


def test_filters_combine(acme: Tenant) -> None:
    make_contact(acme, "jane@example.com", first_name="Jane")
    make_contact(acme, "john@example.com", first_name="John")
    assert emails(acme.get(CONTACTS, params={"q": "jane", "email": "jane@example.com"})) == [
        "jane@example.com"
    ]
    assert emails(acme.get(CONTACTS, params={"q": "john", "email": "jane@example.com"})) == []


def test_blank_filters_are_ignored(acme: Tenant) -> None:
    make_contact(acme, "jane@example.com")
    assert emails(acme.get(CONTACTS, params={"q": "  ", "email": ""})) == ["jane@example.com"]


def test_an_over_long_q_is_a_validation_error(acme: Tenant) -> None:
    response = acme.get(CONTACTS, params={"q": "x" * 201})
    assert response.status_code == 400
    assert response.json()["error"] == "Validation failed"
    assert list(response.json()["details"]["fieldErrors"]) == ["q"]


def test_another_organization_sees_none_of_them(api: ApiClient, acme: Tenant) -> None:
    make_contact(acme, "jane@example.com", first_name="Jane")
    globex = api.tenant("Globex")
    assert globex.get(CONTACTS).json()["data"] == []
    assert globex.get(CONTACTS, params={"email": "jane@example.com"}).json()["data"] == []
    assert globex.get(CONTACTS, params={"q": "jane"}).json()["pagination"]["total"] == 0
