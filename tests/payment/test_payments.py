"""GET /payments and GET /payments/{id} (SPEC §3.6): filters, envelope, tenancy, scopes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest

from tessera.db import STATEMENTS
from tests.payment.builders import insert_payment, make_contact
from tests.support import ApiClient, Tenant

PAYMENTS = "/api/v1/payments"
PAYMENT_FIELDS = {
    "id",
    "status",
    "method",
    "currency",
    "amount",
    "quantity",
    "event_id",
    "ticket_class_id",
    "contact_id",
    "customer_email",
    "ticket_ids",
    "created_at",
    "updated_at",
}
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
NOT_FOUND = {"error": "Payment not found", "code": "not_found"}


@dataclass
class Shop:
    tenant: Tenant
    event_id: str
    class_id: str
    contact_id: str

    def pay(self, **fields: Any) -> dict[str, Any]:
        defaults = {
            "event_id": self.event_id,
            "ticket_class_id": self.class_id,
            "contact_id": self.contact_id,
        }
        return insert_payment(self.tenant, **{**defaults, **fields})

    def ids(self, **params: Any) -> list[str]:
        response = self.tenant.get(PAYMENTS, params=params)
        assert response.status_code == 200, response.text
        return [payment["id"] for payment in response.json()["data"]]


@pytest.fixture
def shop(api: ApiClient) -> Shop:
    acme = api.tenant()
    event = acme.make_event()
    klass = acme.general_admission(event["id"])
    contact = make_contact(acme, "jane@example.com", first_name="Jane")
    return Shop(acme, event["id"], klass["id"], contact["id"])


def test_get_payment_shows_its_tickets_and_customer(shop: Shop) -> None:
    paid = shop.pay(tickets=3, amount="75.00", method="external")
    response = shop.tenant.get(f"{PAYMENTS}/{paid['id']}")
    assert response.status_code == 200, response.text
    payment = response.json()["data"]
    assert set(payment) == PAYMENT_FIELDS
    assert payment["id"] == paid["id"] and payment["id"].startswith("pay_")
    assert payment["status"] == "succeeded"
    assert payment["method"] == "external"
    assert (payment["currency"], payment["amount"], payment["quantity"]) == ("usd", "75.00", 3)
    assert (payment["event_id"], payment["ticket_class_id"], payment["contact_id"]) == (
        shop.event_id,
        shop.class_id,
        shop.contact_id,
    )
    assert payment["customer_email"] == "jane@example.com"
    assert payment["ticket_ids"] == paid["ticket_ids"]  # in creation order
    assert payment["created_at"] == paid["created_at"]
    assert TIMESTAMP.match(payment["created_at"]) and TIMESTAMP.match(payment["updated_at"])


def test_ticket_ids_are_ordered_by_creation_then_id(shop: Shop) -> None:
    paid = shop.pay(tickets=0)

    async def add_tickets(conn: Any) -> None:
        for ticket_id, at in (("tkt_c", 2), ("tkt_b", 1), ("tkt_a", 2)):
            await conn.execute(
                "INSERT INTO tickets (id, organization_id, event_id, ticket_class_id, contact_id,"
                " payment_id, status, barcode, payment_method, checked_in_at, created_at,"
                " updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'valid', $7, 'cash', NULL, $8, $8)",
                ticket_id,
                shop.tenant.organization_id,
                shop.event_id,
                shop.class_id,
                shop.contact_id,
                paid["id"],
                f"BARCODE{ticket_id}",
                at,
            )

    shop.tenant.api.run(add_tickets)
    payment = shop.tenant.get(f"{PAYMENTS}/{paid['id']}").json()["data"]
    assert payment["ticket_ids"] == ["tkt_b", "tkt_a", "tkt_c"]


def test_customer_email_is_the_contacts_current_email(shop: Shop) -> None:
    paid = shop.pay()
    shop.tenant.patch(f"/api/v1/contacts/{shop.contact_id}", {"email": "jane@new.example"})
    payment = shop.tenant.get(f"{PAYMENTS}/{paid['id']}").json()["data"]
    assert payment["customer_email"] == "jane@new.example"
    listed = shop.tenant.get(PAYMENTS).json()["data"]
    assert listed[0]["customer_email"] == "jane@new.example"


def test_a_payment_from_create_attendee(shop: Shop) -> None:
    issued = shop.tenant.make_attendees(
        shop.event_id, shop.class_id, quantity=2, payment_method="free"
    )
    assert issued.status_code == 201, issued.text
    body = issued.json()
    payment = shop.tenant.get(f"{PAYMENTS}/{body['payment_id']}").json()["data"]
    assert payment["status"] == "succeeded"
    assert (payment["method"], payment["amount"], payment["quantity"]) == ("free", "0.00", 2)
    assert payment["customer_email"] == "jane@example.com"
    assert payment["contact_id"] == shop.contact_id
    assert sorted(payment["ticket_ids"]) == sorted(a["id"] for a in body["data"])


def test_get_unknown_is_404(shop: Shop) -> None:
    response = shop.tenant.get(f"{PAYMENTS}/pay_doesnotexist")
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_another_organization_gets_the_same_404_and_an_empty_list(
    api: ApiClient, shop: Shop
) -> None:
    paid = shop.pay()
    globex = api.tenant("Globex")
    missing = globex.get(f"{PAYMENTS}/pay_doesnotexist")
    response = globex.get(f"{PAYMENTS}/{paid['id']}")
    assert response.status_code == 404
    assert response.content == missing.content
    assert globex.get(PAYMENTS).json() == {
        "data": [],
        "pagination": {"total": 0, "page": 1, "page_size": 50, "total_pages": 0},
    }
    everything = {
        "status": "succeeded,pending,failed,refunded",
        "event_id": shop.event_id,
        "ticket_class_id": shop.class_id,
    }
    assert globex.get(PAYMENTS, params=everything).json()["data"] == []


def test_the_list_defaults_to_succeeded_newest_first(shop: Shop) -> None:
    old = shop.pay(created_at="2026-05-01T10:00:00Z")
    new = shop.pay(created_at="2026-05-02T10:00:00Z")
    shop.pay(status="pending", created_at="2026-05-03T10:00:00Z")
    shop.pay(status="failed", created_at="2026-05-03T10:00:00Z")
    shop.pay(status="refunded", created_at="2026-05-03T10:00:00Z")
    response = shop.tenant.get(PAYMENTS)
    body = response.json()
    assert body["pagination"] == {"total": 2, "page": 1, "page_size": 50, "total_pages": 1}
    assert [p["id"] for p in body["data"]] == [new["id"], old["id"]]
    assert all(set(p) == PAYMENT_FIELDS for p in body["data"])
    assert body["data"][0]["ticket_ids"] == new["ticket_ids"]


def test_the_status_filter_takes_a_csv(shop: Shop) -> None:
    paid = shop.pay(created_at="2026-05-01T10:00:00Z")
    pending = shop.pay(status="pending", created_at="2026-05-02T10:00:00Z")
    failed = shop.pay(status="failed", created_at="2026-05-03T10:00:00Z")
    refunded = shop.pay(status="refunded", created_at="2026-05-04T10:00:00Z")
    assert shop.ids(status="pending") == [pending["id"]]
    assert shop.ids(status="failed, refunded") == [refunded["id"], failed["id"]]
    assert shop.ids(status="succeeded,pending,failed,refunded") == [
        refunded["id"],
        failed["id"],
        pending["id"],
        paid["id"],
    ]
    assert shop.ids(status="") == [paid["id"]]


def test_event_and_ticket_class_filters(api: ApiClient, shop: Shop) -> None:
    other_event = shop.tenant.make_event(name="Winter Gala")
    other_class = shop.tenant.general_admission(other_event["id"])
    vip = shop.tenant.make_ticket_class(shop.event_id, name="VIP")
    general = shop.pay(created_at="2026-05-01T10:00:00Z")
    premium = shop.pay(ticket_class_id=vip["id"], created_at="2026-05-02T10:00:00Z")
    elsewhere = shop.pay(
        event_id=other_event["id"],
        ticket_class_id=other_class["id"],
        created_at="2026-05-03T10:00:00Z",
    )
    assert shop.ids(event_id=shop.event_id) == [premium["id"], general["id"]]
    assert shop.ids(event_id=other_event["id"]) == [elsewhere["id"]]
    assert shop.ids(ticket_class_id=vip["id"]) == [premium["id"]]
    assert shop.ids(event_id=shop.event_id, ticket_class_id=other_class["id"]) == []
    assert shop.ids(event_id="unknownEventId") == []


def test_from_is_inclusive_and_to_exclusive(shop: Shop) -> None:
    may1 = shop.pay(created_at="2026-05-01T00:00:00Z")
    may2 = shop.pay(created_at="2026-05-02T00:00:00Z")
    may3 = shop.pay(created_at="2026-05-03T00:00:00Z")
    assert shop.ids(**{"from": "2026-05-02T00:00:00Z"}) == [may3["id"], may2["id"]]
    assert shop.ids(to="2026-05-02T00:00:00Z") == [may1["id"]]
    assert shop.ids(**{"from": "2026-05-01T00:00:00.001Z", "to": "2026-05-03T00:00:00Z"}) == [
        may2["id"]
    ]
    # Any offset is accepted: 02:00 at +02:00 is midnight UTC.
    assert shop.ids(**{"from": "2026-05-03T02:00:00+02:00"}) == [may3["id"]]


def test_filters_and_pagination_combine(shop: Shop) -> None:
    made = [shop.pay(created_at=f"2026-05-0{day}T12:00:00Z") for day in range(1, 6)]
    shop.pay(status="pending", created_at="2026-05-03T13:00:00Z")
    response = shop.tenant.get(
        PAYMENTS,
        params={
            "from": "2026-05-02T00:00:00Z",
            "event_id": shop.event_id,
            "page_size": 2,
            "page": 2,
        },
    )
    body = response.json()
    assert body["pagination"] == {"total": 4, "page": 2, "page_size": 2, "total_pages": 2}
    assert [p["id"] for p in body["data"]] == [made[2]["id"], made[1]["id"]]
    assert [p["ticket_ids"] for p in body["data"]] == [made[2]["ticket_ids"], made[1]["ticket_ids"]]


@pytest.mark.parametrize(
    ("params", "fields"),
    [
        ({"status": "paid"}, ["status"]),
        ({"status": "succeeded,bogus"}, ["status"]),
        ({"from": "yesterday"}, ["from"]),
        ({"from": "2026-05-01T00:00:00"}, ["from"]),  # no offset: ambiguous
        ({"to": "2026-13-01T00:00:00Z"}, ["to"]),
        ({"from": "2026-05-02T00:00:00Z", "to": "2026-05-01T00:00:00Z"}, ["to"]),
        ({"from": "2026-05-02T00:00:00Z", "to": "2026-05-02T00:00:00Z"}, ["to"]),
        ({"event_id": " "}, ["event_id"]),
        ({"ticket_class_id": ""}, ["ticket_class_id"]),
        ({"event_id": "x" * 65}, ["event_id"]),
        ({"status": "nope", "from": "nope"}, ["status", "from"]),
    ],
)
def test_invalid_filters_are_400(shop: Shop, params: dict[str, Any], fields: list[str]) -> None:
    response = shop.tenant.get(PAYMENTS, params=params)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "Validation failed"
    assert body["code"] == "validation_failed"
    assert sorted(body["details"]["fieldErrors"]) == sorted(fields)


@pytest.mark.parametrize("params", [{"page": 0}, {"page_size": 201}, {"page_size": "ten"}])
def test_bad_pagination_is_400(shop: Shop, params: dict[str, Any]) -> None:
    response = shop.tenant.get(PAYMENTS, params=params)
    assert response.status_code == 400
    assert response.json()["error"] == "Invalid pagination parameters"
    assert list(response.json()["details"]["fieldErrors"]) == list(params)


def test_a_list_page_costs_the_same_queries_for_one_payment_or_many(shop: Shop) -> None:
    shop.pay(tickets=2)

    def statements() -> int:
        before = STATEMENTS.count
        assert shop.tenant.get(PAYMENTS).status_code == 200
        return STATEMENTS.count - before

    one = statements()
    for _ in range(6):
        shop.pay(tickets=2)
    assert shop.tenant.get(PAYMENTS).json()["pagination"]["total"] == 7
    assert statements() == one


def test_scopes(shop: Shop) -> None:
    paid = shop.pay()
    nobody = shop.tenant.new_key("contacts:write,events:write")
    expected = {
        "error": "insufficient_scope",
        "code": "insufficient_scope",
        "required": "payments:read",
    }
    for response in (nobody.get(PAYMENTS), nobody.get(f"{PAYMENTS}/{paid['id']}")):
        assert response.status_code == 403
        assert response.json() == expected
    reader = shop.tenant.new_key("payments:read")
    assert reader.get(PAYMENTS).status_code == 200
    assert reader.get(f"{PAYMENTS}/{paid['id']}").status_code == 200
