"""Create Attendee (SPEC §3.3), over HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support import ApiClient, Tenant

ATTENDEE_FIELDS = {
    "id",
    "status",
    "ticket_class_id",
    "ticket_class_name",
    "barcode",
    "first_name",
    "last_name",
    "email",
    "payment_id",
    "payment_method",
    "checked_in_at",
    "created_at",
    "updated_at",
    "answers",  # SPEC §10
}
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def attendees_path(event_id: str) -> str:
    return f"/api/v1/events/{event_id}/attendees"


@pytest.fixture
def acme(api: ApiClient) -> Tenant:
    return api.tenant()


def seats(tenant: Tenant, event_id: str, class_id: str) -> tuple[int, int]:
    event = tenant.get(f"/api/v1/events/{event_id}").json()["data"]
    klass = tenant.get(f"/api/v1/events/{event_id}/ticket-classes/{class_id}").json()["data"]
    return event["tickets_sold"], klass["quantity_sold"]


def test_documented_example_returns_two_valid_tickets_sharing_a_payment(acme: Tenant) -> None:
    event = acme.make_event()
    klass = acme.make_ticket_class(event["id"], name="Early Bird", cost="25.00")
    response = acme.post(
        attendees_path(event["id"]),
        {
            "ticket_class_id": klass["id"],
            "contact": {"email": "jane@example.com", "first_name": "Jane", "last_name": "Doe"},
            "quantity": 2,
            "send_email": False,
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"data", "payment_id", "quantity"}
    assert body["quantity"] == 2
    assert body["payment_id"].startswith("pay_") and len(body["payment_id"]) >= 4 + 22
    assert len(body["data"]) == 2
    for attendee in body["data"]:
        assert set(attendee) == ATTENDEE_FIELDS
        assert attendee["id"].startswith("tkt_")
        assert attendee["status"] == "valid"
        assert attendee["ticket_class_id"] == klass["id"]
        assert attendee["ticket_class_name"] == "Early Bird"
        assert (attendee["first_name"], attendee["last_name"], attendee["email"]) == (
            "Jane",
            "Doe",
            "jane@example.com",
        )
        assert attendee["payment_id"] == body["payment_id"]
        assert attendee["payment_method"] == "cash"
        assert attendee["checked_in_at"] is None
        assert TIMESTAMP.match(attendee["created_at"]) and TIMESTAMP.match(attendee["updated_at"])
        assert len(attendee["barcode"]) >= 16
        assert attendee["id"][4:] not in attendee["barcode"]
    assert body["data"][0]["barcode"] != body["data"][1]["barcode"]
    assert seats(acme, event["id"], klass["id"]) == (2, 2)
    payment = acme.get(f"/api/v1/payments/{body['payment_id']}")
    if payment.status_code == 200:  # the payments API is built alongside
        assert payment.json()["data"]["amount"] == "50.00"


def test_email_is_trimmed_and_lower_cased_and_contact_upserted(
    acme: Tenant, api: ApiClient
) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    first = acme.make_attendees(event["id"], ga["id"], email="  Jane@Example.COM ")
    assert first.status_code == 201, first.text
    assert first.json()["data"][0]["email"] == "jane@example.com"
    second = acme.post(
        attendees_path(event["id"]),
        {
            "ticket_class_id": ga["id"],
            "contact": {"email": "jane@example.com", "first_name": "Janet", "last_name": ""},
        },
    )
    assert second.status_code == 201
    attendee = second.json()["data"][0]
    assert (attendee["first_name"], attendee["last_name"]) == ("Janet", "Doe")
    assert api.count("contacts") == 1
    # names are the contact's current values on every ticket
    earlier = acme.get(f"{attendees_path(event['id'])}/{first.json()['data'][0]['id']}")
    assert earlier.json()["data"]["first_name"] == "Janet"


def test_invited_tickets_are_upgraded_first_and_counted(acme: Tenant, api: ApiClient) -> None:
    event = acme.make_event(capacity=10)
    ga = acme.general_admission(event["id"])
    vip = acme.make_ticket_class(event["id"], name="VIP")
    invited = acme.make_attendees(event["id"], vip["id"], status="invited")
    assert invited.status_code == 201
    invited_id = invited.json()["data"][0]["id"]
    assert seats(acme, event["id"], vip["id"]) == (0, 0)

    response = acme.make_attendees(event["id"], ga["id"], quantity=3)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["quantity"] == 2
    assert len(body["data"]) == 3
    assert body["data"][0]["id"] == invited_id
    assert all(a["status"] == "valid" and a["ticket_class_id"] == ga["id"] for a in body["data"])
    assert all(a["payment_id"] == body["payment_id"] for a in body["data"])
    assert seats(acme, event["id"], ga["id"]) == (3, 3)
    assert api.count("tickets") == 3


def test_invited_upgrade_is_capped_by_quantity_oldest_first(acme: Tenant) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    ids = [
        acme.make_attendees(event["id"], ga["id"], status="invited").json()["data"][0]["id"]
        for _ in range(3)
    ]
    response = acme.make_attendees(event["id"], ga["id"], quantity=2)
    body = response.json()
    assert body["quantity"] == 0
    assert [a["id"] for a in body["data"]] == ids[:2]
    still_invited = acme.get(f"{attendees_path(event['id'])}?status=invited").json()["data"]
    assert [a["id"] for a in still_invited] == ids[2:]


def test_creating_invited_does_not_upgrade_invited(acme: Tenant) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    acme.make_attendees(event["id"], ga["id"], status="invited")
    again = acme.make_attendees(event["id"], ga["id"], status="invited")
    assert again.json()["quantity"] == 1
    assert (
        acme.get(f"{attendees_path(event['id'])}?status=invited").json()["pagination"]["total"] == 2
    )


@pytest.mark.parametrize("where", ["class", "event"])
def test_approval_default_is_pending(acme: Tenant, where: str) -> None:
    event = acme.make_event(require_approval=(where == "event"))
    klass = acme.make_ticket_class(event["id"], require_approval=(where == "class"))
    response = acme.make_attendees(event["id"], klass["id"])
    assert response.json()["data"][0]["status"] == "pending_approval"
    assert seats(acme, event["id"], klass["id"]) == (0, 0)
    explicit = acme.make_attendees(event["id"], klass["id"], email="b@example.com", status="valid")
    assert explicit.json()["data"][0]["status"] == "valid"


def test_checked_in_create_sets_checked_in_at(acme: Tenant) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    attendee = acme.make_attendees(event["id"], ga["id"], status="checked_in").json()["data"][0]
    assert attendee["status"] == "checked_in"
    assert attendee["checked_in_at"] == attendee["created_at"]


def test_free_payment_method_records_zero_amount(acme: Tenant, api: ApiClient) -> None:
    event = acme.make_event(ticket_price="12.50")
    ga = acme.general_admission(event["id"])
    body = acme.make_attendees(event["id"], ga["id"], quantity=2, payment_method="free").json()
    assert body["data"][0]["payment_method"] == "free"
    paid = acme.make_attendees(event["id"], ga["id"], email="b@example.com", quantity=2).json()

    async def amounts(conn: Any) -> dict[str, tuple[str, str, str, int]]:
        rows = await conn.fetch("SELECT id, amount, currency, method, quantity FROM payments")
        return {r["id"]: (r["amount"], r["currency"], r["method"], r["quantity"]) for r in rows}

    recorded = api.run(amounts)
    assert recorded[body["payment_id"]] == ("0.00", "usd", "free", 2)
    assert recorded[paid["payment_id"]] == ("25.00", "usd", "cash", 2)


def test_class_capacity_refuses_and_writes_nothing(acme: Tenant, api: ApiClient) -> None:
    event = acme.make_event()
    klass = acme.make_ticket_class(event["id"], quantity_total=3)
    assert acme.make_attendees(event["id"], klass["id"], quantity=2).status_code == 201
    before = {t: api.count(t) for t in ("tickets", "payments", "contacts", "outbox")}
    refused = acme.make_attendees(
        event["id"], klass["id"], email="new@example.com", quantity=2, send_email=True
    )
    assert refused.status_code == 409
    assert refused.json() == {
        "error": "Capacity exceeded: only 1 seats remain",
        "code": "capacity_exceeded",
        "details": {"remaining": 1, "limit": "ticket_class"},
    }
    assert {t: api.count(t) for t in before} == before
    assert seats(acme, event["id"], klass["id"]) == (2, 2)
    assert acme.make_attendees(event["id"], klass["id"], email="c@example.com").status_code == 201


def test_event_capacity_binds_across_classes(acme: Tenant, api: ApiClient) -> None:
    event = acme.make_event(capacity=3)
    a = acme.make_ticket_class(event["id"], name="A")
    b = acme.make_ticket_class(event["id"], name="B")
    assert acme.make_attendees(event["id"], a["id"], quantity=2).status_code == 201
    refused = acme.make_attendees(event["id"], b["id"], email="b@example.com", quantity=2)
    assert refused.status_code == 409
    assert refused.json()["details"] == {"remaining": 1, "limit": "event"}
    assert seats(acme, event["id"], b["id"]) == (2, 0)  # the class seat was rolled back
    assert api.count("tickets") == 2


def test_pending_and_invited_hold_no_seat(acme: Tenant) -> None:
    event = acme.make_event(capacity=1)
    ga = acme.general_admission(event["id"])
    for status in ("pending_approval", "invited"):
        assert (
            acme.make_attendees(event["id"], ga["id"], status=status, quantity=5).status_code == 201
        )
    assert acme.make_attendees(event["id"], ga["id"], email="x@example.com").status_code == 201
    assert seats(acme, event["id"], ga["id"]) == (1, 1)


def test_upgrading_invited_needs_seats(acme: Tenant) -> None:
    event = acme.make_event(capacity=1)
    ga = acme.general_admission(event["id"])
    acme.make_attendees(event["id"], ga["id"], status="invited", quantity=2)
    refused = acme.make_attendees(event["id"], ga["id"], quantity=2)
    assert refused.status_code == 409
    assert (
        acme.get(f"{attendees_path(event['id'])}?status=invited").json()["pagination"]["total"] == 2
    )


def test_registration_closed_and_sales_window_do_not_bind_manual_add(acme: Tenant) -> None:
    event = acme.make_event()
    acme.patch(f"/api/v1/events/{event['id']}", {"registration_status": "closed"})
    klass = acme.make_ticket_class(
        event["id"],
        sales_start="2030-01-01T00:00:00Z",
        sales_end="2030-02-01T00:00:00Z",
        maximum_per_order=1,
    )
    response = acme.make_attendees(event["id"], klass["id"], quantity=5)
    assert response.status_code == 201, response.text


def test_send_email_queues_one_outbox_row_in_the_transaction(acme: Tenant, api: ApiClient) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    acme.make_attendees(event["id"], ga["id"], quantity=2)
    assert api.count("outbox") == 0
    acme.make_attendees(event["id"], ga["id"], quantity=2, send_email=True)
    assert api.count("outbox", "kind = 'email'") == 1


def test_unknown_event_and_class_answer_documented_404(acme: Tenant, api: ApiClient) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    missing_event = acme.make_attendees("AbCdEfGhIjKlMnOpQrSt", ga["id"])
    assert missing_event.status_code == 404
    assert missing_event.json() == {"error": "Event not found", "code": "not_found"}
    missing_class = acme.make_attendees(event["id"], "prod_nope")
    assert missing_class.status_code == 404
    assert missing_class.json() == {"error": "Ticket class not found", "code": "not_found"}
    # the event is looked up first
    both = acme.make_attendees("AbCdEfGhIjKlMnOpQrSt", "prod_nope")
    assert both.json()["error"] == "Event not found"
    # a deleted class refuses new tickets
    klass = acme.make_ticket_class(event["id"])
    acme.delete(f"/api/v1/events/{event['id']}/ticket-classes/{klass['id']}")
    assert acme.make_attendees(event["id"], klass["id"]).json()["error"] == "Ticket class not found"
    # a class of another event of the same organization
    other = acme.make_event()
    assert acme.make_attendees(other["id"], ga["id"]).json()["error"] == "Ticket class not found"
    assert api.count("tickets") == 0


def test_other_organization_gets_the_identical_404(api: ApiClient) -> None:
    acme = api.tenant("Acme")
    globex = api.tenant("Globex")
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    theirs = globex.make_attendees(event["id"], ga["id"])
    missing = globex.make_attendees("AbCdEfGhIjKlMnOpQrSt", ga["id"])
    assert theirs.status_code == missing.status_code == 404
    assert theirs.content == missing.content
    own_event = globex.make_event()
    foreign_class = globex.make_attendees(own_event["id"], ga["id"])
    assert foreign_class.json()["error"] == "Ticket class not found"
    assert api.count("tickets") == 0


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"quantity": 0}, "quantity"),
        ({"quantity": 101}, "quantity"),
        ({"quantity": 200}, "quantity"),
        ({"quantity": "2"}, "quantity"),
        ({"quantity": 1.5}, "quantity"),
        ({"status": "approved"}, "status"),
        ({"status": "rejected"}, "status"),
        ({"payment_method": "card"}, "payment_method"),
        ({"send_email": "yes"}, "send_email"),
        ({"unexpected": 1}, "unexpected"),
        ({"contact": {"email": "not-an-email"}}, "contact.email"),
        ({"contact": {"email": "a@example.com", "first_name": "x" * 101}}, "contact.first_name"),
        ({"contact": {"email": "a@example.com", "nickname": "J"}}, "contact.nickname"),
        ({"contact": {}}, "contact.email"),
        ({"contact": None}, "contact"),
        ({"ticket_class_id": None}, "ticket_class_id"),
    ],
)
def test_bad_input_is_400_with_field_errors_and_writes_nothing(
    acme: Tenant, api: ApiClient, patch: dict[str, Any], field: str
) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    body: dict[str, Any] = {
        "ticket_class_id": ga["id"],
        "contact": {"email": "jane@example.com"},
        **patch,
    }
    response = acme.post(attendees_path(event["id"]), body)
    assert response.status_code == 400, response.text
    payload = response.json()
    assert payload["error"] == "Validation failed"
    assert payload["code"] == "validation_failed"
    assert field in payload["details"]["fieldErrors"], payload
    assert all(isinstance(m, str) for m in payload["details"]["fieldErrors"][field])
    assert api.count("tickets") == 0 and api.count("contacts") == 0


def test_missing_required_fields(acme: Tenant) -> None:
    event = acme.make_event()
    response = acme.post(attendees_path(event["id"]), {})
    errors = response.json()["details"]["fieldErrors"]
    assert set(errors) == {"ticket_class_id", "contact"}


def test_scope_is_attendees_write(acme: Tenant) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    reader = acme.new_key("attendees:read,events:write")
    response = reader.make_attendees(event["id"], ga["id"])
    assert response.status_code == 403
    assert response.json() == {
        "error": "insufficient_scope",
        "code": "insufficient_scope",
        "required": "attendees:write",
    }
    no_key = acme.api.client.post(attendees_path(event["id"]), json={})
    assert no_key.status_code == 401
