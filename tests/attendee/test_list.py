"""Listing attendees: filters, pagination, tenancy."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import ApiClient, FakeClock, Tenant


@pytest.fixture
def acme(api: ApiClient) -> Tenant:
    return api.tenant()


def test_filters_and_default_statuses(acme: Tenant, api: ApiClient) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    vip = acme.make_ticket_class(event["id"], name="VIP")
    path = f"/api/v1/events/{event['id']}/attendees"
    acme.make_attendees(event["id"], ga["id"], email="ann@example.com", quantity=2)
    acme.make_attendees(event["id"], vip["id"], email="bob@example.com")
    acme.make_attendees(event["id"], ga["id"], email="cyd@example.com", status="pending_approval")
    acme.make_attendees(event["id"], ga["id"], email="dee@example.com", status="invited")
    deleted = acme.make_attendees(event["id"], ga["id"], email="eve@example.com").json()["data"][0]
    acme.delete(f"{path}/{deleted['id']}")

    default = acme.get(path).json()
    assert default["pagination"] == {"total": 3, "page": 1, "page_size": 50, "total_pages": 1}
    assert {a["status"] for a in default["data"]} == {"valid"}

    def total(query: str) -> int:
        response = acme.get(f"{path}?{query}")
        assert response.status_code == 200, response.text
        value: int = response.json()["pagination"]["total"]
        return value

    assert total("status=pending_approval,invited") == 2
    assert total("status=deleted") == 1
    assert total("status=valid,checked_in,pending_approval,invited,rejected,deleted") == 6
    assert total("email=ANN@example.com") == 2
    assert total(f"ticket_class_id={vip['id']}") == 1
    assert total("q=bo") == 1
    assert total("q=EXAMPLE") == 3
    assert total("q=%25") == 0  # a literal percent sign matches nothing
    assert total("updated_since=2000-01-01T00:00:00Z") == 3
    assert total("updated_since=2999-01-01T00:00:00Z") == 0

    bad = acme.get(f"{path}?status=valid,bogus")
    assert bad.status_code == 400
    assert "status" in bad.json()["details"]["fieldErrors"]
    assert acme.get(f"{path}?updated_since=yesterday").status_code == 400


def test_pagination(acme: Tenant) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    path = f"/api/v1/events/{event['id']}/attendees"
    acme.make_attendees(event["id"], ga["id"], quantity=5)
    first = acme.get(f"{path}?page=1&page_size=2").json()
    second = acme.get(f"{path}?page=2&page_size=2").json()
    third = acme.get(f"{path}?page=3&page_size=2").json()
    assert first["pagination"] == {"total": 5, "page": 1, "page_size": 2, "total_pages": 3}
    ids = [a["id"] for page in (first, second, third) for a in page["data"]]
    assert len(ids) == len(set(ids)) == 5
    for query in ("page=0", "page_size=0", "page_size=201", "page=x"):
        bad = acme.get(f"{path}?{query}")
        assert bad.status_code == 400
        assert bad.json()["error"] == "Invalid pagination parameters"
        assert bad.json()["details"]["fieldErrors"]


def test_other_organization_sees_nothing(api: ApiClient) -> None:
    acme = api.tenant("Acme")
    globex = api.tenant("Globex")
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    acme.make_attendees(event["id"], ga["id"])
    foreign = globex.get(f"/api/v1/events/{event['id']}/attendees")
    missing = globex.get("/api/v1/events/AbCdEfGhIjKlMnOpQrSt/attendees")
    assert foreign.status_code == 404
    assert foreign.content == missing.content


def test_read_scope_suffices_for_lists(acme: Tenant) -> None:
    event = acme.make_event()
    reader = acme.new_key("attendees:read")
    assert reader.get(f"/api/v1/events/{event['id']}/attendees").status_code == 200
    blind = acme.new_key("events:read")
    response = blind.get(f"/api/v1/events/{event['id']}/attendees")
    assert response.status_code == 403
    assert response.json()["required"] == "attendees:read"


def test_search_folds_case_beyond_ascii(acme: Tenant) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    acme.post(
        f"/api/v1/events/{event['id']}/attendees",
        {
            "ticket_class_id": ga["id"],
            "contact": {"email": "emile@example.com", "first_name": "Émile", "last_name": "Zola"},
        },
    )
    found = acme.get(f"/api/v1/events/{event['id']}/attendees?q=émile").json()
    assert [a["first_name"] for a in found["data"]] == ["Émile"]


def test_pages_follow_creation_order_and_show_what_a_get_shows(
    acme: Tenant, clock: FakeClock
) -> None:
    """Every page, with and without filters, walks the attendees in creation order (ties by ID)
    and shows each exactly as ``GET /attendees/{id}`` does; the default list's total is the
    number of valid and checked-in attendees, like every other filter's."""
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    vip = acme.make_ticket_class(event["id"], name="VIP")
    path = f"/api/v1/events/{event['id']}/attendees"
    acme.make_attendees(event["id"], ga["id"], email="ann@example.com", quantity=3)
    clock.advance(seconds=1)
    acme.make_attendees(event["id"], vip["id"], email="bob@example.com", status="checked_in")
    clock.advance(seconds=1)
    acme.make_attendees(event["id"], ga["id"], email="cyd@example.com", status="invited")
    clock.advance(seconds=1)
    batch = acme.make_attendees(event["id"], ga["id"], email="dee@example.com", quantity=2)
    acme.delete(f"{path}/{batch.json()['data'][0]['id']}")

    def walk(query: str) -> list[dict[str, Any]]:
        first = acme.get(f"{path}?page_size=2&{query}").json()
        listed = list(first["data"])
        for page in range(2, first["pagination"]["total_pages"] + 1):
            listed += acme.get(f"{path}?page={page}&page_size=2&{query}").json()["data"]
        assert len(listed) == first["pagination"]["total"]
        return listed

    for query, expected in (
        ("", 5),
        ("status=valid,checked_in", 5),
        ("status=checked_in,valid,invited,deleted", 7),
        (f"ticket_class_id={ga['id']}", 4),
        ("q=example", 5),
        ("email=ann@example.com", 3),
    ):
        listed = walk(query)
        assert len(listed) == expected, query
        assert listed == sorted(listed, key=lambda a: (a["created_at"], a["id"])), query
        for attendee in listed:
            assert acme.get(f"{path}/{attendee['id']}").json()["data"] == attendee
    checked_in = [a for a in walk("") if a["status"] == "checked_in"]
    assert [a["ticket_class_name"] for a in checked_in] == ["VIP"]
    assert checked_in[0]["checked_in_at"] is not None
