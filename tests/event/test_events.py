"""Events (SPEC §3.1): create, list, get, change."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support import ApiClient, Tenant, event_body, row_counts

EVENTS = "/api/v1/events"
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
EVENT_ID = re.compile(r"^[23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz]{20}$")
EVENT_FIELDS = {
    "id",
    "name",
    "description",
    "status",
    "registration_status",
    "currency",
    "capacity",
    "tickets_sold",
    "start",
    "end",
    "venue",
    "virtual_url",
    "hidden",
    "require_approval",
    "created_at",
    "updated_at",
}


def field_errors(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "Validation failed"
    assert body["code"] == "validation_failed"
    errors: dict[str, list[str]] = body["details"]["fieldErrors"]
    return errors


def set_tickets_sold(api: ApiClient, event_id: str, sold: int) -> None:
    # Attendees are not built yet: take the seats directly.
    api.run(
        lambda conn: conn.execute(
            "UPDATE events SET tickets_sold = $1 WHERE id = $2", sold, event_id
        )
    )


# --- create -----------------------------------------------------------------------------------


def test_create_returns_the_documented_event_object(api: ApiClient) -> None:
    acme = api.tenant()
    response = acme.post(EVENTS, event_body(description="Talks", capacity=10, hidden=True))
    assert response.status_code == 201
    event = response.json()["data"]
    assert set(event) == EVENT_FIELDS
    assert response.headers["location"] == f"{EVENTS}/{event['id']}"
    assert event["name"] == "Summer Conference"
    assert event["description"] == "Talks"
    assert event["status"] == "active"
    assert event["registration_status"] == "open"
    assert event["currency"] == "usd"
    assert event["capacity"] == 10
    assert event["tickets_sold"] == 0
    assert event["hidden"] is True
    assert event["require_approval"] is False
    assert event["venue"] == {
        "name": "Main Hall",
        "address": None,
        "city": None,
        "state": None,
        "country": None,
    }
    assert event["virtual_url"] is None
    assert TIMESTAMP.match(event["created_at"])
    assert event["created_at"] == event["updated_at"]


def test_event_id_is_20_look_alike_free_characters(api: ApiClient) -> None:
    acme = api.tenant()
    ids = {acme.make_event()["id"] for _ in range(5)}
    assert len(ids) == 5
    for event_id in ids:
        assert EVENT_ID.match(event_id), event_id
        assert not set(event_id) & set("0Oo1lI")


def test_defaults(api: ApiClient) -> None:
    acme = api.tenant()
    body = event_body()
    del body["end"]
    event = acme.post(EVENTS, body).json()["data"]
    assert event["end"] is None
    assert event["currency"] == "usd"
    assert event["capacity"] == 0
    assert event["hidden"] is False
    assert event["require_approval"] is False
    assert event["description"] is None


def test_wall_time_in_timezone_becomes_utc(api: ApiClient) -> None:
    event = api.tenant().make_event()
    assert event["start"] == {"utc": "2027-07-15T22:00:00.000Z", "timezone": "America/New_York"}
    assert event["end"] == {"utc": "2027-07-16T03:00:00.000Z", "timezone": "America/New_York"}


def test_winter_wall_time_uses_standard_offset(api: ApiClient) -> None:
    event = api.tenant().make_event(
        start={"utc": "2027-01-15T18:00", "timezone": "America/New_York"}, end=None
    )
    assert event["start"]["utc"] == "2027-01-15T23:00:00.000Z"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2027-07-15T18:00:00Z", "2027-07-15T18:00:00.000Z"),
        ("2027-07-15T18:00:00.250Z", "2027-07-15T18:00:00.250Z"),
        ("2027-07-15T18:00:00+02:00", "2027-07-15T16:00:00.000Z"),
    ],
)
def test_instant_with_offset_is_kept(api: ApiClient, given: str, expected: str) -> None:
    event = api.tenant().make_event(start={"utc": given, "timezone": "America/New_York"}, end=None)
    assert event["start"] == {"utc": expected, "timezone": "America/New_York"}


def test_unknown_timezone_is_400_on_its_path(api: ApiClient) -> None:
    acme = api.tenant()
    body = event_body(start={"utc": "2027-07-15T18:00", "timezone": "Mars/Olympus_Mons"})
    assert list(field_errors(acme.post(EVENTS, body))) == ["start.timezone"]
    body = event_body(end={"utc": "2027-07-15T23:00", "timezone": "Nowhere"})
    assert "end.timezone" in field_errors(acme.post(EVENTS, body))
    assert api.count("events") == 0


def test_unparseable_time_is_400_on_its_path(api: ApiClient) -> None:
    acme = api.tenant()
    body = event_body(start={"utc": "next tuesday", "timezone": "UTC"}, end=None)
    assert list(field_errors(acme.post(EVENTS, body))) == ["start.utc"]


def test_end_must_follow_start_and_share_its_timezone(api: ApiClient) -> None:
    acme = api.tenant()
    before = event_body(end={"utc": "2027-07-15T17:00", "timezone": "America/New_York"})
    assert list(field_errors(acme.post(EVENTS, before))) == ["end.utc"]
    other_zone = event_body(end={"utc": "2027-07-16T05:00", "timezone": "Europe/Paris"})
    assert list(field_errors(acme.post(EVENTS, other_zone))) == ["end.timezone"]
    assert api.count("events") == 0


def test_https_location_makes_the_event_virtual(api: ApiClient) -> None:
    event = api.tenant().make_event(location="https://meet.example.com/summer")
    assert event["virtual_url"] == "https://meet.example.com/summer"
    assert event["venue"]["name"] is None


def test_venue_object(api: ApiClient) -> None:
    venue = {
        "name": "Hall",
        "address": "1 Main St",
        "city": "Springfield",
        "state": "IL",
        "country": "US",
    }
    event = api.tenant().make_event(location=venue)
    assert event["venue"] == venue
    assert event["virtual_url"] is None


def test_venue_errors_use_dotted_paths(api: ApiClient) -> None:
    acme = api.tenant()
    errors = field_errors(acme.post(EVENTS, event_body(location={"name": "Hall", "floor": 2})))
    assert errors == {"location.floor": ["Unknown field"]}
    errors = field_errors(acme.post(EVENTS, event_body(location={"city": "Springfield"})))
    assert list(errors) == ["location.name"]


def test_currency_is_lower_cased(api: ApiClient) -> None:
    acme = api.tenant()
    event = acme.make_event(currency="EUR", ticket_price="12.50")
    assert event["currency"] == "eur"
    ga = acme.general_admission(event["id"])
    assert ga["currency"] == "eur"
    assert ga["cost"] == "12.50"


@pytest.mark.parametrize("currency", ["EURO", "eu", "12€", ""])
def test_invalid_currency_is_400(api: ApiClient, currency: str) -> None:
    assert "currency" in field_errors(api.tenant().post(EVENTS, event_body(currency=currency)))


def test_name_is_required_and_at_most_200(api: ApiClient) -> None:
    acme = api.tenant()
    assert acme.make_event(name="x" * 200)["name"] == "x" * 200
    assert "name" in field_errors(acme.post(EVENTS, event_body(name="x" * 201)))
    assert "name" in field_errors(acme.post(EVENTS, event_body(name="")))
    body = event_body()
    del body["name"]
    assert field_errors(acme.post(EVENTS, body))["name"] == ["This field is required"]
    assert api.count("events") == 1


def test_location_is_required(api: ApiClient) -> None:
    body = event_body()
    del body["location"]
    assert "location" in field_errors(api.tenant().post(EVENTS, body))


def test_negative_capacity_and_price_are_400(api: ApiClient) -> None:
    acme = api.tenant()
    assert "capacity" in field_errors(acme.post(EVENTS, event_body(capacity=-1)))
    assert "ticket_price" in field_errors(acme.post(EVENTS, event_body(ticket_price=-5)))
    assert "ticket_price" in field_errors(acme.post(EVENTS, event_body(ticket_price="1.001")))


def test_create_makes_general_admission_class(api: ApiClient) -> None:
    acme = api.tenant()
    event = acme.make_event(ticket_price="25", require_approval=True)
    classes = acme.get(f"{EVENTS}/{event['id']}/ticket-classes").json()["data"]
    assert len(classes) == 1
    ga = classes[0]
    assert ga["name"] == "General Admission"
    assert ga["cost"] == "25.00"
    assert ga["free"] is False
    assert ga["require_approval"] is True
    assert ga["quantity_total"] == 0
    assert ga["currency"] == "usd"
    assert ga["event_id"] == event["id"]
    assert ga["id"].startswith("prod_")


def test_free_event_has_free_general_admission(api: ApiClient) -> None:
    acme = api.tenant()
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    assert ga["cost"] == "0.00"
    assert ga["free"] is True
    assert ga["require_approval"] is False


def test_zero_decimal_currency_price(api: ApiClient) -> None:
    acme = api.tenant()
    event = acme.make_event(currency="jpy", ticket_price=1500)
    assert acme.general_admission(event["id"])["cost"] == "1500"
    errors = field_errors(acme.post(EVENTS, event_body(currency="jpy", ticket_price="1.5")))
    assert "ticket_price" in errors


# --- get and tenancy --------------------------------------------------------------------------


def test_get_returns_what_create_returned(api: ApiClient) -> None:
    acme = api.tenant()
    event = acme.make_event(capacity=3)
    response = acme.get(f"{EVENTS}/{event['id']}")
    assert response.status_code == 200
    assert response.json() == {"data": event}


def test_another_organizations_event_is_indistinguishable_from_a_missing_one(
    api: ApiClient,
) -> None:
    acme = api.tenant("Acme")
    globex = api.tenant("Globex")
    event = acme.make_event()
    theirs = globex.get(f"{EVENTS}/{event['id']}")
    missing = globex.get(f"{EVENTS}/AbCdEfGhJkMnPqRsTuVw")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.content == missing.content
    assert theirs.json() == {"error": "Event not found", "code": "not_found"}
    patched = globex.patch(f"{EVENTS}/{event['id']}", {"name": "Hijacked"})
    assert patched.status_code == 404
    assert patched.content == missing.content
    assert acme.get(f"{EVENTS}/{event['id']}").json()["data"]["name"] == event["name"]


# --- list -------------------------------------------------------------------------------------


def make_events(tenant: Tenant, count: int) -> list[dict[str, Any]]:
    return [tenant.make_event(name=f"Event {i}") for i in range(count)]


def test_list_envelope_and_defaults(api: ApiClient) -> None:
    acme = api.tenant()
    made = make_events(acme, 3)
    body = acme.get(EVENTS).json()
    assert body["pagination"] == {"total": 3, "page": 1, "page_size": 50, "total_pages": 1}
    assert sorted(e["id"] for e in body["data"]) == sorted(e["id"] for e in made)
    assert {e["id"]: e for e in body["data"]} == {e["id"]: e for e in made}


def test_list_pages(api: ApiClient, clock: Any) -> None:
    acme = api.tenant()
    for i in range(5):
        acme.make_event(name=f"Event {i}")
        clock.advance(seconds=1)
    first = acme.get(EVENTS, params={"page_size": 2}).json()
    assert first["pagination"] == {"total": 5, "page": 1, "page_size": 2, "total_pages": 3}
    seen = [e["id"] for e in first["data"]]
    for page in (2, 3):
        body = acme.get(EVENTS, params={"page": page, "page_size": 2}).json()
        assert body["pagination"]["page"] == page
        seen += [e["id"] for e in body["data"]]
    assert len(seen) == len(set(seen)) == 5
    # Newest first.
    assert [e["name"] for e in first["data"]] == ["Event 4", "Event 3"]
    beyond = acme.get(EVENTS, params={"page": 4, "page_size": 2}).json()
    assert beyond["data"] == []
    assert beyond["pagination"]["total"] == 5


def test_list_page_size_bounds(api: ApiClient) -> None:
    acme = api.tenant()
    make_events(acme, 2)
    assert acme.get(EVENTS, params={"page_size": 1}).json()["pagination"]["total_pages"] == 2
    assert acme.get(EVENTS, params={"page_size": 200}).status_code == 200


@pytest.mark.parametrize(
    ("params", "fields"),
    [
        ({"page": 0}, {"page"}),
        ({"page": -1}, {"page"}),
        ({"page": "abc"}, {"page"}),
        ({"page_size": 0}, {"page_size"}),
        ({"page_size": 201}, {"page_size"}),
        ({"page_size": "ten"}, {"page_size"}),
        ({"page": 0, "page_size": 500}, {"page", "page_size"}),
    ],
)
def test_bad_pagination_is_400(api: ApiClient, params: dict[str, Any], fields: set[str]) -> None:
    response = api.tenant().get(EVENTS, params=params)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "Invalid pagination parameters"
    assert body["code"]
    assert set(body["details"]["fieldErrors"]) == fields


def test_status_filter(api: ApiClient) -> None:
    acme = api.tenant()
    active = acme.make_event(name="Active")
    inactive = acme.make_event(name="Inactive")
    assert acme.patch(f"{EVENTS}/{inactive['id']}", {"status": "inactive"}).status_code == 200

    def listed(**params: str) -> set[str]:
        response = acme.get(EVENTS, params=params)
        assert response.status_code == 200, response.text
        return {e["id"] for e in response.json()["data"]}

    assert listed() == {active["id"]}
    assert listed(status="active") == {active["id"]}
    assert listed(status="inactive") == {inactive["id"]}
    assert listed(status="active,inactive") == {active["id"], inactive["id"]}
    assert acme.get(EVENTS, params={"status": "inactive"}).json()["pagination"]["total"] == 1


@pytest.mark.parametrize("status", ["bogus", "active,bogus", "deleted"])
def test_unknown_status_filter_is_400(api: ApiClient, status: str) -> None:
    assert "status" in field_errors(api.tenant().get(EVENTS, params={"status": status}))


def test_list_shows_another_organization_nothing(api: ApiClient) -> None:
    acme = api.tenant("Acme")
    make_events(acme, 2)
    globex = api.tenant("Globex")
    body = globex.get(EVENTS, params={"status": "active,inactive"}).json()
    assert body["data"] == []
    assert body["pagination"]["total"] == 0
    assert body["pagination"]["total_pages"] == 0


# --- update -----------------------------------------------------------------------------------


def test_patch_is_partial(api: ApiClient, clock: Any) -> None:
    acme = api.tenant()
    event = acme.make_event(description="Talks", capacity=10)
    clock.advance(seconds=5)
    response = acme.patch(f"{EVENTS}/{event['id']}", {"name": "Renamed"})
    assert response.status_code == 200
    updated = response.json()["data"]
    assert updated["name"] == "Renamed"
    assert updated["updated_at"] > event["updated_at"]
    assert updated["created_at"] == event["created_at"]
    unchanged = {k: v for k, v in updated.items() if k not in ("name", "updated_at")}
    assert unchanged == {k: v for k, v in event.items() if k not in ("name", "updated_at")}
    assert acme.get(f"{EVENTS}/{event['id']}").json()["data"] == updated


def test_patch_many_fields(api: ApiClient) -> None:
    acme = api.tenant()
    event = acme.make_event(capacity=10)
    changes = {
        "description": "New",
        "capacity": 20,
        "status": "inactive",
        "registration_status": "closed",
        "hidden": True,
        "require_approval": True,
        "location": "https://stream.example.com/x",
        "start": {"utc": "2027-08-01T09:00", "timezone": "Europe/Paris"},
        "end": {"utc": "2027-08-01T17:00", "timezone": "Europe/Paris"},
    }
    updated = acme.patch(f"{EVENTS}/{event['id']}", changes).json()["data"]
    assert updated["description"] == "New"
    assert updated["capacity"] == 20
    assert updated["status"] == "inactive"
    assert updated["registration_status"] == "closed"
    assert updated["hidden"] is True
    assert updated["require_approval"] is True
    assert updated["virtual_url"] == "https://stream.example.com/x"
    assert updated["venue"]["name"] is None
    assert updated["start"] == {"utc": "2027-08-01T07:00:00.000Z", "timezone": "Europe/Paris"}
    assert updated["end"] == {"utc": "2027-08-01T15:00:00.000Z", "timezone": "Europe/Paris"}


def test_patch_can_clear_description_and_end(api: ApiClient) -> None:
    acme = api.tenant()
    event = acme.make_event(description="Talks")
    updated = acme.patch(f"{EVENTS}/{event['id']}", {"description": None, "end": None})
    assert updated.status_code == 200
    assert updated.json()["data"]["description"] is None
    assert updated.json()["data"]["end"] is None


def test_patch_currency_is_lower_cased_and_follows_into_classes(api: ApiClient) -> None:
    acme = api.tenant()
    event = acme.make_event(ticket_price="25")
    updated = acme.patch(f"{EVENTS}/{event['id']}", {"currency": "GBP"}).json()["data"]
    assert updated["currency"] == "gbp"
    ga = acme.general_admission(event["id"])
    assert (ga["currency"], ga["cost"]) == ("gbp", "25.00")
    # Costs follow the new currency's minor unit.
    acme.patch(f"{EVENTS}/{event['id']}", {"currency": "jpy"})
    ga = acme.general_admission(event["id"])
    assert (ga["currency"], ga["cost"]) == ("jpy", "25")
    acme.patch(f"{EVENTS}/{event['id']}", {"currency": "kwd"})
    assert acme.general_admission(event["id"])["cost"] == "25.000"


def test_patch_currency_that_cannot_express_a_cost_is_refused(api: ApiClient) -> None:
    acme = api.tenant()
    event = acme.make_event(ticket_price="12.50")
    path = f"{EVENTS}/{event['id']}"
    errors = field_errors(acme.patch(path, {"currency": "jpy", "name": "Renamed"}))
    assert list(errors) == ["currency"]
    assert "General Admission" in errors["currency"][0]
    assert acme.get(path).json()["data"] == event
    assert acme.general_admission(event["id"])["cost"] == "12.50"


def test_negative_zero_price_is_zero(api: ApiClient) -> None:
    acme = api.tenant()
    event = acme.make_event(ticket_price="-0")
    assert acme.general_admission(event["id"])["cost"] == "0.00"


def test_patch_empty_body_is_400(api: ApiClient) -> None:
    acme = api.tenant()
    event = acme.make_event()
    response = acme.patch(f"{EVENTS}/{event['id']}", {})
    assert response.status_code == 400
    assert response.json()["error"] == "At least one field is required"
    assert response.json()["code"]


def test_patch_refuses_unknown_fields_and_nulls(api: ApiClient) -> None:
    acme = api.tenant()
    event = acme.make_event()
    path = f"{EVENTS}/{event['id']}"
    assert field_errors(acme.patch(path, {"colour": "red"})) == {"colour": ["Unknown field"]}
    assert field_errors(acme.patch(path, {"tickets_sold": 3})) == {
        "tickets_sold": ["Unknown field"]
    }
    for required in ("name", "start", "location", "capacity", "status", "hidden"):
        assert required in field_errors(acme.patch(path, {required: None}))
    assert "name" in field_errors(acme.patch(path, {"name": "x" * 201}))
    assert "status" in field_errors(acme.patch(path, {"status": "deleted"}))
    assert acme.get(path).json()["data"] == event


def test_patch_end_before_start_is_400(api: ApiClient) -> None:
    acme = api.tenant()
    event = acme.make_event()
    path = f"{EVENTS}/{event['id']}"
    early = {"end": {"utc": "2027-07-15T10:00", "timezone": "America/New_York"}}
    assert list(field_errors(acme.patch(path, early))) == ["end.utc"]
    # Moving start past the stored end is caught too.
    late = {"start": {"utc": "2027-07-16T10:00", "timezone": "America/New_York"}}
    assert list(field_errors(acme.patch(path, late))) == ["end.utc"]
    assert acme.get(path).json()["data"] == event


def test_patch_end_in_another_timezone_is_400(api: ApiClient) -> None:
    acme = api.tenant()
    event = acme.make_event()
    path = f"{EVENTS}/{event['id']}"
    body = {"end": {"utc": "2027-07-16T08:00", "timezone": "Europe/Paris"}}
    assert list(field_errors(acme.patch(path, body))) == ["end.timezone"]
    moved = {"start": {"utc": "2027-07-15T10:00", "timezone": "Europe/Paris"}}
    assert list(field_errors(acme.patch(path, moved))) == ["end.timezone"]
    assert acme.get(path).json()["data"] == event


def test_capacity_cannot_drop_below_seats_taken(api: ApiClient) -> None:
    acme = api.tenant()
    event = acme.make_event(capacity=10)
    path = f"{EVENTS}/{event['id']}"
    set_tickets_sold(api, event["id"], 5)

    refused = acme.patch(path, {"capacity": 4, "name": "Smaller"})
    assert refused.status_code == 409
    assert refused.json()["code"]
    assert refused.json()["error"]
    fresh = acme.get(path).json()["data"]
    assert fresh["capacity"] == 10
    assert fresh["name"] == event["name"]  # the whole change was refused

    assert acme.patch(path, {"capacity": 5}).json()["data"]["capacity"] == 5
    assert acme.patch(path, {"capacity": 0}).json()["data"]["capacity"] == 0  # unlimited
    assert acme.patch(path, {"capacity": 6}).json()["data"]["capacity"] == 6


def test_patch_unknown_event_is_404(api: ApiClient) -> None:
    response = api.tenant().patch(f"{EVENTS}/AbCdEfGhJkMnPqRsTuVw", {"name": "x"})
    assert response.status_code == 404
    assert response.json() == {"error": "Event not found", "code": "not_found"}


def test_invalid_writes_leave_no_rows(api: ApiClient) -> None:
    acme = api.tenant()
    event = acme.make_event()
    before = row_counts(api)
    bodies: list[dict[str, Any]] = [
        event_body(name=""),
        event_body(extra=True),
        event_body(capacity="5"),
        event_body(hidden="true"),
        event_body(start={"utc": "2027-07-15T18:00", "timezone": "Bad/Zone"}),
        event_body(end={"utc": "2027-07-15T10:00", "timezone": "America/New_York"}),
    ]
    for body in bodies:
        assert acme.post(EVENTS, body).status_code == 400
    set_tickets_sold(api, event["id"], 2)
    assert acme.patch(f"{EVENTS}/{event['id']}", {"capacity": 1}).status_code == 409
    assert row_counts(api) == before
