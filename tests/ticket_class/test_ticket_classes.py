"""Ticket classes (SPEC §3.2): a bounded list, soft delete, quantities never below sold."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support import ApiClient, Tenant, row_counts

MISSING_EVENT = "AbCdEfGhJkMnPqRsTuVw"
MISSING_CLASS = "prod_AbCdEfGhJkMnPqRsTuVw"
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
CLASS_FIELDS = {
    "id",
    "event_id",
    "name",
    "description",
    "status",
    "currency",
    "cost",
    "free",
    "quantity_total",
    "quantity_sold",
    "sales_start",
    "sales_end",
    "minimum_per_order",
    "maximum_per_order",
    "require_approval",
    "hide_on_event_page",
    "created_at",
    "updated_at",
}


def classes_path(event_id: str) -> str:
    return f"/api/v1/events/{event_id}/ticket-classes"


def class_path(event_id: str, class_id: str) -> str:
    return f"{classes_path(event_id)}/{class_id}"


def set_quantity_sold(api: ApiClient, class_id: str, sold: int) -> None:
    # Attendees are not built yet: take the seats directly.
    api.run(
        lambda conn: conn.execute(
            "UPDATE ticket_classes SET quantity_sold = $1 WHERE id = $2", sold, class_id
        )
    )


def field_errors(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "validation_failed"
    errors: dict[str, list[str]] = response.json()["details"]["fieldErrors"]
    return errors


@pytest.fixture
def acme(api: ApiClient) -> Tenant:
    return api.tenant("Acme")


@pytest.fixture
def event(acme: Tenant) -> dict[str, Any]:
    return acme.make_event(currency="EUR")


# --- create and read --------------------------------------------------------------------------


def test_create_returns_the_documented_object(
    api: ApiClient, acme: Tenant, event: dict[str, Any]
) -> None:
    body = {
        "name": "VIP",
        "description": "Front rows",
        "cost": "49.90",
        "quantity_total": 50,
        "sales_start": "2027-06-01T09:00:00Z",
        "sales_end": "2027-07-01T09:00:00+02:00",
        "minimum_per_order": 2,
        "maximum_per_order": 4,
        "require_approval": True,
        "hide_on_event_page": True,
    }
    response = acme.post(classes_path(event["id"]), body)
    assert response.status_code == 201, response.text
    created = response.json()["data"]
    assert set(created) == CLASS_FIELDS
    assert response.headers["location"] == class_path(event["id"], created["id"])
    assert re.match(r"^prod_[23456789A-HJ-NP-Za-km-z]{20,}$", created["id"])
    assert created["event_id"] == event["id"]
    assert created["status"] == "active"
    assert created["currency"] == "eur"
    assert created["cost"] == "49.90"
    assert created["free"] is False
    assert created["quantity_sold"] == 0
    assert created["sales_start"] == "2027-06-01T09:00:00.000Z"
    assert created["sales_end"] == "2027-07-01T07:00:00.000Z"
    for key, value in body.items():
        if key not in ("cost", "sales_start", "sales_end"):
            assert created[key] == value
    assert TIMESTAMP.match(created["created_at"])
    fetched = acme.get(class_path(event["id"], created["id"]))
    assert fetched.status_code == 200
    assert fetched.json() == {"data": created}


def test_create_defaults(acme: Tenant, event: dict[str, Any]) -> None:
    created = acme.make_ticket_class(event["id"], name="Basic")
    assert created["cost"] == "0.00"
    assert created["free"] is True
    assert created["quantity_total"] == 0
    assert created["minimum_per_order"] == 1
    assert created["maximum_per_order"] == 10
    assert created["require_approval"] is False
    assert created["hide_on_event_page"] is False
    assert created["description"] is None
    assert created["sales_start"] is None


def test_require_approval_defaults_to_the_events(acme: Tenant) -> None:
    event = acme.make_event(require_approval=True)
    assert acme.make_ticket_class(event["id"])["require_approval"] is True
    assert acme.make_ticket_class(event["id"], require_approval=False)["require_approval"] is False


@pytest.mark.parametrize(
    ("cost", "expected"),
    [
        (25, "25.00"),
        ("25", "25.00"),
        ("7.5", "7.50"),
        (0, "0.00"),
        ("-0", "0.00"),
        ("1E+2", "100.00"),
        (19.99, "19.99"),
    ],
)
def test_cost_is_a_decimal_string(
    acme: Tenant, event: dict[str, Any], cost: Any, expected: str
) -> None:
    created = acme.make_ticket_class(event["id"], cost=cost)
    assert created["cost"] == expected
    assert created["free"] is (expected == "0.00")


def test_free_flag(acme: Tenant, event: dict[str, Any]) -> None:
    created = acme.make_ticket_class(event["id"], free=True)
    assert created["free"] is True
    assert created["cost"] == "0.00"
    assert "free" in field_errors(
        acme.post(classes_path(event["id"]), {"name": "X", "free": True, "cost": "5"})
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"name": "A", "description": "x" * 10_001}, "description"),
        ({"name": "A", "cost": -1}, "cost"),
        ({"name": "A", "cost": "1.005"}, "cost"),
        ({"name": "A", "cost": "cheap"}, "cost"),
        ({"name": "A", "cost": True}, "cost"),
        ({"name": "A", "quantity_total": -1}, "quantity_total"),
        ({"name": "A", "quantity_total": "5"}, "quantity_total"),
        ({"name": "A", "free": "true"}, "free"),
        ({"name": "A", "minimum_per_order": 0}, "minimum_per_order"),
        ({"name": "A", "minimum_per_order": 5, "maximum_per_order": 2}, "minimum_per_order"),
        ({"name": "A", "sales_start": "2027-06-01T09:00"}, "sales_start"),
        (
            {
                "name": "A",
                "sales_start": "2027-06-02T00:00:00Z",
                "sales_end": "2027-06-01T00:00:00Z",
            },
            "sales_end",
        ),
        ({"name": "A", "currency": "usd"}, "currency"),
        ({"name": "A", "quantity_sold": 3}, "quantity_sold"),
        ({"name": "A", "colour": "red"}, "colour"),
    ],
)
def test_invalid_create_is_400_and_writes_nothing(
    api: ApiClient, acme: Tenant, event: dict[str, Any], body: dict[str, Any], field: str
) -> None:
    before = row_counts(api)
    assert field in field_errors(acme.post(classes_path(event["id"]), body))
    assert row_counts(api) == before


def test_list_is_bounded_and_active_only(acme: Tenant, event: dict[str, Any]) -> None:
    vip = acme.make_ticket_class(event["id"], name="VIP")
    gone = acme.make_ticket_class(event["id"], name="Gone")
    assert acme.delete(class_path(event["id"], gone["id"])).status_code == 200
    response = acme.get(classes_path(event["id"]))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"data"}  # no pagination for a bounded collection
    assert [c["name"] for c in body["data"]] == ["General Admission", "VIP"]
    assert body["data"][1] == vip


# --- tenancy and not found --------------------------------------------------------------------


def test_unknown_event_and_class(acme: Tenant, event: dict[str, Any]) -> None:
    ga = acme.general_admission(event["id"])
    event_missing = {"error": "Event not found", "code": "not_found"}
    class_missing = {"error": "Ticket class not found", "code": "not_found"}
    for response in (
        acme.get(classes_path(MISSING_EVENT)),
        acme.post(classes_path(MISSING_EVENT), {"name": "VIP"}),
        # The event is looked up first, even when the class does not exist either.
        acme.get(class_path(MISSING_EVENT, MISSING_CLASS)),
        acme.get(class_path(MISSING_EVENT, ga["id"])),
        acme.patch(class_path(MISSING_EVENT, ga["id"]), {"name": "X"}),
        acme.delete(class_path(MISSING_EVENT, ga["id"])),
    ):
        assert response.status_code == 404
        assert response.json() == event_missing
    for response in (
        acme.get(class_path(event["id"], MISSING_CLASS)),
        acme.patch(class_path(event["id"], MISSING_CLASS), {"name": "X"}),
        acme.delete(class_path(event["id"], MISSING_CLASS)),
    ):
        assert response.status_code == 404
        assert response.json() == class_missing


def test_class_of_another_event_is_not_found(acme: Tenant, event: dict[str, Any]) -> None:
    other = acme.make_event(name="Other")
    theirs = acme.general_admission(other["id"])
    response = acme.get(class_path(event["id"], theirs["id"]))
    assert response.status_code == 404
    assert response.json()["error"] == "Ticket class not found"


def test_another_organization_sees_nothing(
    api: ApiClient, acme: Tenant, event: dict[str, Any]
) -> None:
    globex = api.tenant("Globex")
    ga = acme.general_admission(event["id"])
    missing = globex.get(class_path(MISSING_EVENT, MISSING_CLASS))
    for response in (
        globex.get(classes_path(event["id"])),
        globex.get(class_path(event["id"], ga["id"])),
        globex.post(classes_path(event["id"]), {"name": "Mine"}),
        globex.patch(class_path(event["id"], ga["id"]), {"name": "Mine"}),
        globex.delete(class_path(event["id"], ga["id"])),
    ):
        assert response.status_code == 404
        assert response.content == missing.content
    # A class ID of theirs under an event of ours is not found either.
    own_event = globex.make_event()
    response = globex.get(class_path(own_event["id"], ga["id"]))
    assert response.status_code == 404
    assert response.json()["error"] == "Ticket class not found"
    assert acme.general_admission(event["id"]) == ga


# --- update -----------------------------------------------------------------------------------


def test_patch_is_partial(api: ApiClient, acme: Tenant, event: dict[str, Any], clock: Any) -> None:
    vip = acme.make_ticket_class(event["id"], name="VIP", cost="10", quantity_total=5)
    clock.advance(seconds=2)
    response = acme.patch(class_path(event["id"], vip["id"]), {"cost": "12.5"})
    assert response.status_code == 200
    updated = response.json()["data"]
    assert updated["cost"] == "12.50"
    assert updated["updated_at"] > vip["updated_at"]
    same = ("cost", "updated_at")
    assert {k: v for k, v in updated.items() if k not in same} == {
        k: v for k, v in vip.items() if k not in same
    }
    changes = {
        "name": "Gold",
        "description": "Shiny",
        "quantity_total": 9,
        "maximum_per_order": 3,
        "require_approval": True,
        "hide_on_event_page": True,
        "sales_end": "2027-07-01T00:00:00Z",
    }
    updated = acme.patch(class_path(event["id"], vip["id"]), changes).json()["data"]
    for key, value in changes.items():
        if key != "sales_end":
            assert updated[key] == value
    assert updated["sales_end"] == "2027-07-01T00:00:00.000Z"
    assert acme.get(class_path(event["id"], vip["id"])).json()["data"] == updated


def test_patch_free_sets_cost_to_zero(acme: Tenant, event: dict[str, Any]) -> None:
    vip = acme.make_ticket_class(event["id"], cost="10")
    updated = acme.patch(class_path(event["id"], vip["id"]), {"free": True}).json()["data"]
    assert updated["free"] is True
    assert updated["cost"] == "0.00"


def test_patch_refusals(acme: Tenant, event: dict[str, Any]) -> None:
    vip = acme.make_ticket_class(event["id"], name="VIP", maximum_per_order=4)
    path = class_path(event["id"], vip["id"])
    empty = acme.patch(path, {})
    assert empty.status_code == 400
    assert empty.json()["error"] == "At least one field is required"
    assert field_errors(acme.patch(path, {"status": "deleted"})) == {"status": ["Unknown field"]}
    assert "quantity_sold" in field_errors(acme.patch(path, {"quantity_sold": 0}))
    for required in ("name", "cost", "quantity_total", "free"):
        assert required in field_errors(acme.patch(path, {required: None}))
    assert "minimum_per_order" in field_errors(acme.patch(path, {"minimum_per_order": 5}))
    assert "cost" in field_errors(acme.patch(path, {"cost": "1.001"}))
    assert acme.get(path).json()["data"] == vip


def test_quantity_total_cannot_drop_below_sold(
    api: ApiClient, acme: Tenant, event: dict[str, Any]
) -> None:
    vip = acme.make_ticket_class(event["id"], quantity_total=10)
    path = class_path(event["id"], vip["id"])
    set_quantity_sold(api, vip["id"], 4)
    refused = acme.patch(path, {"quantity_total": 3, "name": "Renamed"})
    assert refused.status_code == 409
    assert refused.json()["code"]
    fresh = acme.get(path).json()["data"]
    assert fresh["quantity_total"] == 10
    assert fresh["name"] == vip["name"]
    assert acme.patch(path, {"quantity_total": 4}).json()["data"]["quantity_total"] == 4
    assert acme.patch(path, {"quantity_total": 0}).json()["data"]["quantity_total"] == 0


def test_names_are_unique_among_active_classes(acme: Tenant, event: dict[str, Any]) -> None:
    taken = {"error": "A ticket class with this name already exists"}
    vip = acme.make_ticket_class(event["id"], name="VIP")
    duplicate = acme.post(classes_path(event["id"]), {"name": "VIP"})
    assert duplicate.status_code == 409
    assert duplicate.json()["error"] == taken["error"]
    assert duplicate.json()["code"]
    other = acme.make_ticket_class(event["id"], name="Standard")
    renamed = acme.patch(class_path(event["id"], other["id"]), {"name": "VIP"})
    assert renamed.status_code == 409
    assert renamed.json()["error"] == taken["error"]
    # Renaming a class to its own name is no conflict.
    assert acme.patch(class_path(event["id"], vip["id"]), {"name": "VIP"}).status_code == 200
    # Another event may use the name.
    second = acme.make_event(name="Second")
    assert acme.make_ticket_class(second["id"], name="VIP")["name"] == "VIP"


# --- delete -----------------------------------------------------------------------------------


def test_delete_is_soft(api: ApiClient, acme: Tenant, event: dict[str, Any]) -> None:
    vip = acme.make_ticket_class(event["id"], name="VIP")
    path = class_path(event["id"], vip["id"])
    response = acme.delete(path)
    assert response.status_code == 200
    assert response.json() == {"deleted": True, "id": vip["id"]}
    fetched = acme.get(path)
    assert fetched.status_code == 200
    assert fetched.json()["data"]["status"] == "deleted"
    assert vip["id"] not in {c["id"] for c in acme.get(classes_path(event["id"])).json()["data"]}
    assert api.count("ticket_classes", "id = $1", vip["id"]) == 1
    # Its name is free again.
    again = acme.make_ticket_class(event["id"], name="VIP")
    assert again["id"] != vip["id"]
    # Deleting or changing it again finds nothing to act on.
    assert acme.delete(path).status_code == 404
    assert acme.patch(path, {"description": "x"}).status_code == 404


def test_delete_refused_while_tickets_are_sold(
    api: ApiClient, acme: Tenant, event: dict[str, Any]
) -> None:
    vip = acme.make_ticket_class(event["id"])
    path = class_path(event["id"], vip["id"])
    set_quantity_sold(api, vip["id"], 3)
    refused = acme.delete(path)
    assert refused.status_code == 409
    body = refused.json()
    assert body["error"] == "Cannot delete a ticket class with sold tickets"
    assert body["sold_count"] == 3
    assert body["code"]
    assert acme.get(path).json()["data"]["status"] == "active"
    set_quantity_sold(api, vip["id"], 0)
    assert acme.delete(path).status_code == 200
