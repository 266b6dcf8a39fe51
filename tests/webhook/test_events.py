"""Which changes emit which events, with which payload: the object exactly as the API returns it.
Events are queued in the business transaction: a rolled-back or replayed request emits nothing."""

from __future__ import annotations

import re
from typing import Any

from tessera import db as database
from tessera.db import Connection
from tessera.webhook.emit import emit
from tests.support import ApiClient, Tenant, event_body
from tests.webhook.conftest import PATH, outbox_rows, register
from tests.webhook.receiver import Receiver

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def attendees_path(event_id: str) -> str:
    return f"/api/v1/events/{event_id}/attendees"


def delivered(api: ApiClient, receiver: Receiver) -> list[tuple[str, dict[str, Any]]]:
    api.deliver_outbox()
    return [(r.type, r.data) for r in receiver.received]


def test_event_created_and_updated(acme: Tenant, api: ApiClient, receiver: Receiver) -> None:
    register(acme, receiver.url)
    event = acme.make_event(capacity=50)
    changed = acme.patch(f"/api/v1/events/{event['id']}", {"name": "Renamed", "hidden": True})
    assert changed.status_code == 200
    assert delivered(api, receiver) == [
        ("event.created", event),
        ("event.updated", changed.json()["data"]),
    ]
    body = receiver.received[0].json
    assert list(body) == ["type", "timestamp", "data"]
    assert ISO.match(body["timestamp"])
    assert body["timestamp"] == event["created_at"]


def test_create_attendee_emits_each_ticket_and_the_payment(
    acme: Tenant, api: ApiClient, receiver: Receiver
) -> None:
    event = acme.make_event(ticket_price=25)
    ga = acme.general_admission(event["id"])
    register(acme, receiver.url)
    response = acme.make_attendees(event["id"], ga["id"], quantity=3)
    assert response.status_code == 201
    created = response.json()
    payment = acme.get(f"/api/v1/payments/{created['payment_id']}").json()["data"]
    assert payment["amount"] == "75.00" and len(payment["ticket_ids"]) == 3
    got = delivered(api, receiver)
    assert sorted(got, key=lambda item: item[1]["id"]) == sorted(
        [("attendee.created", ticket) for ticket in created["data"]]
        + [("payment.succeeded", payment)],
        key=lambda item: item[1]["id"],
    )


def test_an_upgraded_invited_ticket_is_attendee_updated(
    acme: Tenant, api: ApiClient, receiver: Receiver
) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    invited = acme.make_attendees(event["id"], ga["id"], status="invited").json()["data"][0]
    register(acme, receiver.url)
    response = acme.make_attendees(event["id"], ga["id"], quantity=2, status="valid")
    assert response.status_code == 201
    upgraded, new = response.json()["data"]
    assert upgraded["id"] == invited["id"] and upgraded["status"] == "valid"
    payment = acme.get(f"/api/v1/payments/{response.json()['payment_id']}").json()["data"]
    got = dict((data["id"], (kind, data)) for kind, data in delivered(api, receiver))
    assert got == {
        upgraded["id"]: ("attendee.updated", upgraded),
        new["id"]: ("attendee.created", new),
        payment["id"]: ("payment.succeeded", payment),
    }
    assert payment["ticket_ids"] == [upgraded["id"], new["id"]]


def test_status_changes_emit_updated_and_check_ins_emit_checked_in(
    acme: Tenant, api: ApiClient, receiver: Receiver
) -> None:
    event = acme.make_event(require_approval=True)
    ga = acme.general_admission(event["id"])
    first, second = acme.make_attendees(event["id"], ga["id"], quantity=2).json()["data"]
    assert first["status"] == "pending_approval"
    register(acme, receiver.url)
    base = attendees_path(event["id"])

    approved = acme.patch(f"{base}/{first['id']}", {"status": "valid"}).json()["data"]
    checked = acme.patch(f"{base}/{first['id']}", {"status": "checked_in"}).json()["data"]
    acme.patch(f"{base}/{second['id']}", {"status": "valid"})
    scanned = acme.post(f"/api/v1/events/{event['id']}/check-ins", {"barcode": second["barcode"]})
    assert scanned.status_code == 200
    acme.delete(f"{base}/{second['id']}")
    deleted = acme.get(f"{base}/{second['id']}").json()["data"]
    assert deleted["status"] == "deleted"
    # Refused or no-op changes emit nothing.
    assert acme.patch(f"{base}/{first['id']}", {"status": "checked_in"}).status_code == 422
    assert (
        acme.post(
            f"/api/v1/events/{event['id']}/check-ins", {"barcode": first["barcode"]}
        ).status_code
        == 409
    )

    got = delivered(api, receiver)
    for_first = [item for item in got if item[1]["id"] == first["id"]]
    for_second = [item for item in got if item[1]["id"] == second["id"]]
    assert for_first == [("attendee.updated", approved), ("attendee.checked_in", checked)]
    assert [kind for kind, _ in for_second] == [
        "attendee.updated",
        "attendee.checked_in",
        "attendee.updated",
    ]
    assert for_second[1][1] == scanned.json()["data"]
    assert for_second[2][1] == deleted
    assert len(got) == 5


def test_endpoints_get_only_their_types_and_only_while_enabled(
    acme: Tenant, api: ApiClient, receiver: Receiver
) -> None:
    checkins = Receiver()
    disabled = Receiver()
    try:
        register(acme, receiver.url)
        register(acme, checkins.url, events=["attendee.checked_in"])
        register(acme, disabled.url, enabled=False)
        event = acme.make_event()
        ga = acme.general_admission(event["id"])
        ticket = acme.make_attendees(event["id"], ga["id"], status="checked_in").json()["data"][0]
        acme.patch(f"{attendees_path(event['id'])}/{ticket['id']}", {"status": "valid"})
        acme.patch(f"{attendees_path(event['id'])}/{ticket['id']}", {"status": "checked_in"})
        api.deliver_outbox()
        # Different objects are delivered concurrently; one object's events keep their order.
        assert sorted(r.type for r in receiver.received) == sorted(
            [
                "event.created",
                "payment.succeeded",
                "attendee.created",
                "attendee.updated",
                "attendee.checked_in",
            ]
        )
        assert [r.type for r in receiver.received if r.data["id"] == ticket["id"]] == [
            "attendee.created",
            "attendee.updated",
            "attendee.checked_in",
        ]
        assert [r.type for r in checkins.received] == ["attendee.checked_in"]
        assert disabled.received == []
    finally:
        checkins.close()
        disabled.close()


def test_other_organizations_endpoints_hear_nothing(
    acme: Tenant, api: ApiClient, receiver: Receiver
) -> None:
    register(api.tenant("Globex"), receiver.url)
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    assert acme.make_attendees(event["id"], ga["id"]).status_code == 201
    assert api.count("outbox", "kind = 'webhook'") == 0
    api.deliver_outbox()
    assert receiver.received == []


def test_without_endpoints_nothing_is_queued(acme: Tenant, api: ApiClient) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    assert acme.make_attendees(event["id"], ga["id"], quantity=5).status_code == 201
    assert api.count("outbox") == 0


def test_emit_is_one_statement_whatever_the_number_of_endpoints_and_items(
    acme: Tenant, api: ApiClient
) -> None:
    for n in range(3):
        register(acme, f"https://hooks.example.com/{n}")
    register(acme, "https://hooks.example.com/events", events=["event.updated"])
    items = [("attendee.created", f"tkt_{n}", {"id": f"tkt_{n}"}) for n in range(40)]
    items.append(("event.updated", "evt", {"id": "evt"}))

    async def work(conn: Connection) -> int:
        before = database.STATEMENTS.count
        await emit(conn, acme.organization_id, items, api.now())
        await conn.flush()  # PostgreSQL defers it to the transaction's next statement
        return database.STATEMENTS.count - before

    assert api.run(work) == 1
    rows = outbox_rows(api)
    assert len(rows) == 40 * 3 + 4
    # IDs follow the items: per endpoint and object, in the order they were given.
    assert [row["topic"] for row in rows[-4:]] == ["event.updated"] * 4
    assert len({row["ordering_key"] for row in rows}) == len(rows)

    async def nothing(conn: Connection) -> int:
        before = database.STATEMENTS.count
        await emit(conn, acme.organization_id, [], api.now())
        return database.STATEMENTS.count - before

    assert api.run(nothing) == 0


def test_create_attendee_costs_the_same_statements_with_and_without_endpoints(
    acme: Tenant, api: ApiClient
) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])

    def statements(email: str) -> int:
        before = database.STATEMENTS.count
        assert acme.make_attendees(event["id"], ga["id"], email, quantity=3).status_code == 201
        return database.STATEMENTS.count - before

    without = statements("a@example.com")
    for n in range(3):
        register(acme, f"https://hooks.example.com/{n}")
    assert statements("b@example.com") == without
    assert api.count("outbox", "kind = 'webhook'") == 3 * 4


def test_a_refused_create_attendee_emits_nothing(acme: Tenant, api: ApiClient) -> None:
    event = acme.make_event()
    limited = acme.make_ticket_class(event["id"], quantity_total=1)
    register(acme, "https://hooks.example.com/a")
    assert acme.make_attendees(event["id"], limited["id"]).status_code == 201
    queued = api.count("outbox", "kind = 'webhook'")
    refused = acme.make_attendees(event["id"], limited["id"], "b@example.com", quantity=2)
    assert refused.status_code == 409
    assert refused.json()["code"] == "capacity_exceeded"
    missing = acme.post(
        attendees_path(event["id"]),
        {"ticket_class_id": "prod_missing", "contact": {"email": "c@example.com"}},
    )
    assert missing.status_code == 404
    assert api.count("outbox", "kind = 'webhook'") == queued


def test_an_idempotent_replay_emits_nothing(acme: Tenant, api: ApiClient) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    register(acme, "https://hooks.example.com/a")
    body = {"ticket_class_id": ga["id"], "contact": {"email": "jane@example.com"}}
    key = {"Idempotency-Key": "attendee-1"}
    first = acme.post(attendees_path(event["id"]), body, headers=key)
    queued = api.count("outbox", "kind = 'webhook'")
    again = acme.post(attendees_path(event["id"]), body, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replay"] == "true"
    assert api.count("outbox", "kind = 'webhook'") == queued == 2

    for _ in range(2):
        replayed = acme.post("/api/v1/events", event_body(), headers={"Idempotency-Key": "ev-1"})
        assert replayed.status_code == 201
    # The event made before the endpoint existed queued nothing; the replayed one queued once.
    assert api.count("outbox", "kind = 'webhook' AND topic = 'event.created'") == 1


def test_managing_endpoints_emits_nothing(acme: Tenant, api: ApiClient) -> None:
    # Managing endpoints is configuration, not a business event: it queues nothing.
    created = register(acme, "https://hooks.example.com/a")
    acme.patch(f"{PATH}/{created['id']}", {"description": "x"})
    acme.post(f"{PATH}/{created['id']}/rotate-secret")
    assert api.count("outbox") == 0
