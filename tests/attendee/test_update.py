"""Update Attendee, DELETE and check-in by scan (SPEC §3.3, §3.4)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import ApiClient, Tenant


@pytest.fixture
def acme(api: ApiClient) -> Tenant:
    return api.tenant()


def path(event_id: str, attendee_id: str = "") -> str:
    base = f"/api/v1/events/{event_id}/attendees"
    return f"{base}/{attendee_id}" if attendee_id else base


def counters(tenant: Tenant, event_id: str, class_id: str) -> tuple[int, int]:
    event = tenant.get(f"/api/v1/events/{event_id}").json()["data"]
    klass = tenant.get(f"/api/v1/events/{event_id}/ticket-classes/{class_id}").json()["data"]
    return event["tickets_sold"], klass["quantity_sold"]


def issue(tenant: Tenant, event_id: str, class_id: str, **fields: Any) -> dict[str, Any]:
    email = fields.pop("email", "jane@example.com")
    response = tenant.make_attendees(event_id, class_id, email=email, **fields)
    assert response.status_code == 201, response.text
    attendee: dict[str, Any] = response.json()["data"][0]
    return attendee


def test_approve_takes_a_seat_and_reject_is_final(acme: Tenant) -> None:
    event = acme.make_event(capacity=5)
    ga = acme.general_admission(event["id"])
    pending = issue(acme, event["id"], ga["id"], status="pending_approval")
    approved = acme.patch(path(event["id"], pending["id"]), {"status": "valid"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["data"]["status"] == "valid"
    assert counters(acme, event["id"], ga["id"]) == (1, 1)

    rejected = acme.patch(path(event["id"], pending["id"]), {"status": "rejected"})
    assert rejected.json()["data"]["status"] == "rejected"
    assert counters(acme, event["id"], ga["id"]) == (0, 0)
    for target in ("valid", "checked_in", "pending_approval", "deleted"):
        refused = acme.patch(path(event["id"], pending["id"]), {"status": target})
        assert refused.status_code == 422, target
        assert "rejected" in refused.json()["error"]
        assert refused.json()["code"] == "ticket_status_final"


def test_deleted_is_final_and_frees_the_seat(acme: Tenant) -> None:
    event = acme.make_event(capacity=1)
    ga = acme.general_admission(event["id"])
    ticket = issue(acme, event["id"], ga["id"])
    deleted = acme.delete(path(event["id"], ticket["id"]))
    assert deleted.status_code == 200
    assert deleted.json() == {"deleted": True, "id": ticket["id"]}
    assert counters(acme, event["id"], ga["id"]) == (0, 0)
    again = acme.patch(path(event["id"], ticket["id"]), {"status": "valid"})
    assert again.status_code == 422
    assert acme.get(path(event["id"], ticket["id"])).json()["data"]["status"] == "deleted"
    # the freed seat can be sold again
    assert acme.make_attendees(event["id"], ga["id"], email="b@example.com").status_code == 201


def test_check_in_twice_is_422_with_the_time(acme: Tenant) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    ticket = issue(acme, event["id"], ga["id"])
    first = acme.patch(path(event["id"], ticket["id"]), {"status": "checked_in"})
    assert first.status_code == 200
    checked_in_at = first.json()["data"]["checked_in_at"]
    assert checked_in_at is not None
    second = acme.patch(path(event["id"], ticket["id"]), {"status": "checked_in"})
    assert second.status_code == 422
    assert second.json()["error"] == "Ticket already checked in"
    assert second.json()["details"]["checked_in_at"] == checked_in_at
    assert counters(acme, event["id"], ga["id"]) == (1, 1)


def test_entering_a_seat_status_when_full_is_409(acme: Tenant, api: ApiClient) -> None:
    event = acme.make_event(capacity=1)
    ga = acme.general_admission(event["id"])
    issue(acme, event["id"], ga["id"])
    pending = issue(acme, event["id"], ga["id"], email="b@example.com", status="pending_approval")
    for target in ("valid", "checked_in"):
        refused = acme.patch(path(event["id"], pending["id"]), {"status": target})
        assert refused.status_code == 409
        assert refused.json()["code"] == "capacity_exceeded"
        assert refused.json()["details"] == {"remaining": 0, "limit": "event"}
    assert acme.get(path(event["id"], pending["id"])).json()["data"]["status"] == "pending_approval"
    assert counters(acme, event["id"], ga["id"]) == (1, 1)


def test_moves_between_seat_statuses_keep_one_seat(acme: Tenant) -> None:
    event = acme.make_event(capacity=1)
    ga = acme.general_admission(event["id"])
    ticket = issue(acme, event["id"], ga["id"])
    assert acme.patch(path(event["id"], ticket["id"]), {"status": "checked_in"}).status_code == 200
    back = acme.patch(path(event["id"], ticket["id"]), {"status": "valid"})
    assert back.status_code == 200
    assert back.json()["data"]["checked_in_at"] is None
    assert counters(acme, event["id"], ga["id"]) == (1, 1)
    pending = acme.patch(path(event["id"], ticket["id"]), {"status": "pending_approval"})
    assert pending.json()["data"]["status"] == "pending_approval"
    assert counters(acme, event["id"], ga["id"]) == (0, 0)


def test_notify_guest_queues_a_status_email(acme: Tenant, api: ApiClient) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    ticket = issue(acme, event["id"], ga["id"], status="pending_approval")
    acme.patch(path(event["id"], ticket["id"]), {"status": "valid"})
    assert api.count("outbox") == 0
    acme.patch(
        path(event["id"], ticket["id"]),
        {"status": "checked_in", "notify_guest": True, "custom_message": "Welcome!"},
    )
    assert api.count("outbox", "topic = 'attendee.status'") == 1


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"status": "invited"},
        {"status": "approved"},
        {"status": "valid", "extra": 1},
        {"status": "valid", "custom_message": "x" * 10_001},
        {"status": "valid", "notify_guest": 1},
    ],
)
def test_bad_update_is_400(acme: Tenant, body: dict[str, Any]) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    ticket = issue(acme, event["id"], ga["id"])
    response = acme.patch(path(event["id"], ticket["id"]), body)
    assert response.status_code == 400
    assert response.json()["code"] == "validation_failed"
    assert acme.get(path(event["id"], ticket["id"])).json()["data"]["status"] == "valid"


def test_unknown_and_foreign_attendees_are_404(api: ApiClient) -> None:
    acme = api.tenant("Acme")
    globex = api.tenant("Globex")
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    ticket = issue(acme, event["id"], ga["id"])
    missing = acme.get(path(event["id"], "tkt_missing"))
    assert missing.status_code == 404
    assert missing.json() == {"error": "Attendee not found", "code": "not_found"}
    other_event = acme.make_event()
    assert acme.get(path(other_event["id"], ticket["id"])).json()["error"] == "Attendee not found"
    # another organization: the event is not found, exactly as a missing one
    foreign = globex.patch(path(event["id"], ticket["id"]), {"status": "deleted"})
    missing_event = globex.patch(path("AbCdEfGhIjKlMnOpQrSt", ticket["id"]), {"status": "deleted"})
    assert foreign.status_code == 404 and foreign.content == missing_event.content
    assert globex.get(path(event["id"], ticket["id"])).content == missing_event.content
    assert acme.get(path(event["id"], ticket["id"])).json()["data"]["status"] == "valid"


def test_check_in_by_barcode(acme: Tenant, api: ApiClient) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    ticket = issue(acme, event["id"], ga["id"])
    scan = f"/api/v1/events/{event['id']}/check-ins"
    ok = acme.post(scan, {"barcode": ticket["barcode"]})
    assert ok.status_code == 200, ok.text
    assert ok.json()["result"] == "ok"
    assert ok.json()["data"]["status"] == "checked_in"
    again = acme.post(scan, {"barcode": ticket["barcode"]})
    assert again.status_code == 409
    assert again.json()["code"] == "already_checked_in"
    assert again.json()["result"] == "already_checked_in"
    assert again.json()["details"]["checked_in_at"] == ok.json()["data"]["checked_in_at"]
    assert counters(acme, event["id"], ga["id"]) == (1, 1)

    unknown = acme.post(scan, {"barcode": "NOTABARCODE"})
    assert unknown.status_code == 404
    other_event = acme.make_event()
    assert (
        acme.post(
            f"/api/v1/events/{other_event['id']}/check-ins", {"barcode": ticket["barcode"]}
        ).status_code
        == 404
    )

    pending = issue(acme, event["id"], ga["id"], email="p@example.com", status="pending_approval")
    refused = acme.post(scan, {"barcode": pending["barcode"]})
    assert refused.status_code == 422
    assert refused.json()["details"]["status"] == "pending_approval"
