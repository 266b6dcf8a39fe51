"""Create Attendee sent as one statement (PostgreSQL).

A create reads the event, the class and the contact, then sends every write, the stored
outcome and the key's lock as one statement that commits only if what it read still holds.
These tests prove it is what a create on PostgreSQL does (three statements; two once the class
is remembered, ``tessera.attendee.remembered``), that it answers
exactly what the transaction answers, and that every change slipped in between its read and its
write makes it give way, with nothing of it committed, to the transaction, which then decides
as if the change had come first.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg
import httpx
import pytest

from tessera import db as database
from tessera.kit import jsonutil
from tests.attendee.holding import Holder, in_thread
from tests.support import ApiClient, Tenant, truncate_postgres

_ID = re.compile(r"\b(?:tkt|pay|con|prod|org)_[A-Za-z0-9]+|\b[A-Za-z0-9]{20}\b")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@pytest.fixture
def database_url(pg_url: str) -> str:
    """PostgreSQL only: SQLite always runs the transaction."""
    truncate_postgres(pg_url)
    return pg_url


@pytest.fixture
def acme(api: ApiClient) -> Tenant:
    return api.tenant()


def path(event_id: str) -> str:
    return f"/api/v1/events/{event_id}/attendees"


def body(class_id: str, email: str = "jane@example.com", **fields: Any) -> dict[str, Any]:
    contact = {"email": email, "first_name": "Jane", "last_name": "Doe"}
    return {"ticket_class_id": class_id, "contact": contact, **fields}


def counted(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, int]:
    before = database.STATEMENTS.count
    response = call()
    return response, database.STATEMENTS.count - before


def consistent(api: ApiClient) -> bool:
    """Every seat counter equals its seat-holding tickets."""
    bad = api.count(
        "ticket_classes tc",
        "tc.quantity_sold <> (SELECT count(*) FROM tickets t WHERE t.ticket_class_id = tc.id"
        " AND t.status IN ('valid', 'checked_in'))",
    ) + api.count(
        "events e",
        "e.tickets_sold <> (SELECT count(*) FROM tickets t WHERE t.event_id = e.id"
        " AND t.status IN ('valid', 'checked_in'))",
    )
    return bad == 0


def assert_upgraded(response: httpx.Response, ticket_id: str, api: ApiClient) -> None:
    """The create upgraded that invited ticket, the only ticket, and created none."""
    assert response.status_code == 201, response.text
    assert response.json()["quantity"] == 0
    assert [a["id"] for a in response.json()["data"]] == [ticket_id]
    assert api.count("tickets") == 1
    assert consistent(api)


@contextmanager
def between_read_and_write(api: ApiClient, url: str, sql: str, *args: Any) -> Iterator[list[int]]:
    """Run ``sql`` on another connection, committed, after the next one-statement create has
    read and queued its writes and before it sends them. Yields a list that holds one entry
    once the change was made."""
    db = api.app.state.db  # type: ignore[attr-defined]
    original = db.run_as_one_statement
    made: list[int] = []

    async def change() -> None:
        other = await asyncpg.connect(url)
        try:
            await other.execute(sql, *args)
        finally:
            await other.close()

    async def run_as_one_statement(work: Any) -> Any:
        async def then_change(conn: Any) -> Any:
            result = await work(conn)
            if not made:
                await change()
                made.append(1)
            return result

        return await original(then_change)

    db.run_as_one_statement = run_as_one_statement
    try:
        yield made
    finally:
        db.run_as_one_statement = original


def test_a_create_is_two_statements_once_its_class_is_remembered(acme: Tenant) -> None:
    """The first create of a class reads it: the key and stored-outcome lookup, the read, the
    one statement. What the read found is remembered, so the next creates of the class with a
    new contact, with or without a key, send their statement without the read."""
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    keyed, sent_keyed = counted(
        lambda: acme.post(path(event["id"]), body(ga["id"]), headers={"Idempotency-Key": "k1"})
    )
    plain, sent_plain = counted(
        lambda: acme.post(path(event["id"]), body(ga["id"], "joe@example.com"))
    )
    keyed_again, sent_keyed_again = counted(
        lambda: acme.post(
            path(event["id"]), body(ga["id"], "ann@example.com"), headers={"Idempotency-Key": "k2"}
        )
    )
    assert (keyed.status_code, plain.status_code, keyed_again.status_code) == (201, 201, 201)
    assert (sent_keyed, sent_plain, sent_keyed_again) == (3, 2, 2)
    # send_email and a quantity change nothing of that
    more, sent_more = counted(
        lambda: acme.post(
            path(event["id"]), body(ga["id"], "bo@example.com", quantity=2, send_email=True)
        )
    )
    assert more.status_code == 201
    assert sent_more == 2
    assert consistent(acme.api)


def test_an_existing_contact_on_a_remembered_class_is_read_and_then_forgotten(
    acme: Tenant, api: ApiClient
) -> None:
    """A create from memory takes its contact to be new: an existing one meets the unique key,
    the statement writes nothing, and the create reads and sends its statement (4 statements
    in all). That read finds a contact, so the class is forgotten: the next create reads (3),
    and remembers again for the one after (2). Creates of existing contacts that follow one
    another stay at 3."""
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    assert acme.make_attendees(event["id"], ga["id"], "jane@example.com").status_code == 201
    assert acme.make_attendees(event["id"], ga["id"], "joe@example.com").status_code == 201
    again, sent_again = counted(
        lambda: acme.post(path(event["id"]), body(ga["id"], quantity=2, send_email=True))
    )
    assert again.status_code == 201, again.text
    assert [a["email"] for a in again.json()["data"]] == ["jane@example.com"] * 2
    assert sent_again == 4
    existing, sent_existing = counted(
        lambda: acme.post(path(event["id"]), body(ga["id"], "joe@example.com"))
    )
    new, sent_new = counted(lambda: acme.post(path(event["id"]), body(ga["id"], "bo@example.com")))
    newer, sent_newer = counted(
        lambda: acme.post(path(event["id"]), body(ga["id"], "al@example.com"))
    )
    assert (existing.status_code, new.status_code, newer.status_code) == (201, 201, 201)
    assert (sent_existing, sent_new, sent_newer) == (3, 3, 2)
    assert api.count("contacts") == 4
    assert api.count("tickets") == 7
    assert consistent(api)


def test_a_remembered_class_is_read_again_after_a_while(
    acme: Tenant, api: ApiClient, clock: Any
) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    assert acme.make_attendees(event["id"], ga["id"], "jane@example.com").status_code == 201
    clock.advance(seconds=31)
    response, sent = counted(lambda: acme.post(path(event["id"]), body(ga["id"], "joe@a.com")))
    assert response.status_code == 201
    assert sent == 3


def _commit(url: str, sql: str, *args: Any) -> None:
    async def change() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(sql, *args)
        finally:
            await conn.close()

    asyncio.run(change())


def test_a_class_changed_since_it_was_remembered_is_answered_as_it_now_is(
    acme: Tenant, api: ApiClient, database_url: str
) -> None:
    """What is remembered is never trusted: the statement checks it and gives way, writing
    nothing, and the create reads afresh."""
    event = acme.make_event()
    klass = acme.make_ticket_class(event["id"], name="Paid", cost="10.00")
    assert acme.make_attendees(event["id"], klass["id"], "jane@example.com").status_code == 201
    _commit(
        database_url,
        "UPDATE ticket_classes SET name = 'Renamed', cost = '12.50' WHERE id = $1",
        klass["id"],
    )
    response, sent = counted(
        lambda: acme.post(path(event["id"]), body(klass["id"], "joe@example.com", quantity=2))
    )
    assert response.status_code == 201, response.text
    assert sent == 4  # the key, the statement from memory (stale), the read, the statement
    assert response.json()["data"][0]["ticket_class_name"] == "Renamed"
    payment = acme.get(f"/api/v1/payments/{response.json()['payment_id']}").json()["data"]
    assert payment["amount"] == "25.00"
    assert (api.count("tickets"), api.count("payments"), api.count("contacts")) == (3, 2, 2)
    assert consistent(api)


@pytest.mark.parametrize("status", ["valid", "pending_approval"])  # takes seats, takes none
def test_a_class_deleted_since_it_was_remembered_is_not_found(
    acme: Tenant, api: ApiClient, database_url: str, status: str
) -> None:
    event = acme.make_event()
    klass = acme.make_ticket_class(event["id"], name="Going")
    assert acme.make_attendees(event["id"], klass["id"], "jane@example.com").status_code == 201
    _commit(database_url, "UPDATE ticket_classes SET status = 'deleted' WHERE id = $1", klass["id"])
    sent = body(klass["id"], "joe@example.com", status=status)
    response = acme.post(path(event["id"]), sent, headers={"Idempotency-Key": "d"})
    assert response.status_code == 404
    assert response.json()["error"] == "Ticket class not found"
    assert (api.count("tickets"), api.count("contacts"), api.count("payments")) == (1, 1, 1)


@pytest.mark.parametrize("limit", ["ticket_class", "event"])
def test_seats_gone_since_the_class_was_remembered_answer_capacity_exceeded(
    acme: Tenant, api: ApiClient, database_url: str, limit: str
) -> None:
    event = acme.make_event(capacity=1 if limit == "event" else 0)
    klass = acme.make_ticket_class(
        event["id"], name="One", quantity_total=1 if limit == "ticket_class" else 0
    )
    assert acme.make_attendees(event["id"], klass["id"], "first@example.com").status_code == 201
    response = acme.post(path(event["id"]), body(klass["id"], "second@example.com"))
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "capacity_exceeded"
    assert response.json()["details"] == {"remaining": 0, "limit": limit}
    assert (api.count("tickets"), api.count("contacts"), api.count("payments")) == (1, 1, 1)
    assert consistent(api)


def test_an_event_requiring_approval_since_it_was_remembered_gets_pending_tickets(
    acme: Tenant, api: ApiClient, database_url: str
) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    assert acme.make_attendees(event["id"], ga["id"], "jane@example.com").status_code == 201
    _commit(database_url, "UPDATE events SET require_approval = true WHERE id = $1", event["id"])
    response = acme.post(path(event["id"]), body(ga["id"], "joe@example.com"))
    assert response.status_code == 201, response.text
    assert response.json()["data"][0]["status"] == "pending_approval"
    assert consistent(api)


def test_a_webhook_endpoint_enabled_since_the_class_was_remembered_gets_the_events(
    acme: Tenant, api: ApiClient, database_url: str
) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    created = acme.post(
        "/api/v1/webhook-endpoints", {"url": "https://hooks.example.com/t", "enabled": False}
    )
    assert created.status_code == 201, created.text
    endpoint_id = created.json()["data"]["id"]
    assert acme.make_attendees(event["id"], ga["id"], "jane@example.com").status_code == 201
    _commit(database_url, "UPDATE webhook_endpoints SET enabled = true WHERE id = $1", endpoint_id)
    response = acme.post(path(event["id"]), body(ga["id"], "joe@example.com"))
    assert response.status_code == 201, response.text
    assert api.count("outbox", "kind = 'webhook' AND ordering_key LIKE $1", f"{endpoint_id}/%") == 2
    assert consistent(api)


def test_a_key_answered_while_a_create_from_memory_is_queued_is_replayed(
    acme: Tenant, api: ApiClient, database_url: str
) -> None:
    """A keyed create from memory whose key is answered meanwhile (another process) gives way
    at the stored outcome's insert, as does the read's statement after it; the transaction
    replays the stored outcome and nothing of the create is written."""
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    assert acme.make_attendees(event["id"], ga["id"], "jane@example.com").status_code == 201
    sent = body(ga["id"], "joe@example.com")
    fingerprint = jsonutil.fingerprint("POST", path(event["id"]), sent)
    with between_read_and_write(
        api,
        database_url,
        "INSERT INTO idempotency_keys (api_key_id, key, fingerprint, status_code, headers, body,"
        " created_at) VALUES ($1, 'answered', $2, 201, '{\"content-type\":\"application/json\"}',"
        " $3, $4)",
        acme.key_id,
        fingerprint,
        b'{"answered":"elsewhere"}',
        api.now(),
    ) as made:
        response = acme.post(path(event["id"]), sent, headers={"Idempotency-Key": "answered"})
    assert made
    assert response.status_code == 201
    assert response.json() == {"answered": "elsewhere"}
    assert response.headers["idempotent-replay"] == "true"
    assert (api.count("tickets"), api.count("contacts"), api.count("payments")) == (1, 1, 1)


# Request shapes that cover every decision a create makes (status, seats, payment, contact,
# email); each runs once as one statement and once as a transaction, in two organizations.
SHAPES: list[tuple[str, dict[str, Any]]] = [
    ("ga", {}),
    ("ga", {"quantity": 3, "status": "checked_in", "payment_method": "free", "send_email": True}),
    ("ga", {"contact": {"email": "jane@example.com"}}),
    ("ga", {"contact": {"email": "Jane@Example.com ", "last_name": "Dough", "phone": "+1 555"}}),
    ("ga", {"status": "pending_approval", "quantity": 2}),
    ("ga", {"status": "invited", "contact": {"email": "inv@example.com", "first_name": "I"}}),
    ("ga", {"contact": {"email": "inv@example.com"}}),  # upgrades the invited ticket
    ("vip", {"quantity": 2}),  # the class requires approval: pending, no seats
    ("vip", {"status": "valid", "payment_method": "external"}),
    ("small", {"quantity": 2}),
    ("small", {"quantity": 1}),  # the class is full: 409
    ("nope", {}),  # not a class of this event: 404
]


def _normalized(text: str) -> str:
    """IDs and timestamps replaced by their order of first appearance."""
    seen: dict[str, str] = {}

    def name(match: re.Match[str]) -> str:
        return seen.setdefault(match.group(0), f"<{len(seen)}>")

    return _ID.sub(name, _TIME.sub("<time>", text))


def _run_shapes(tenant: Tenant) -> tuple[list[str], dict[str, Any]]:
    endpoint = {"url": "http://127.0.0.1:9/hook", "events": ["attendee.created"]}
    assert tenant.post("/api/v1/webhook-endpoints", endpoint).status_code == 201
    event = tenant.make_event(capacity=20)
    classes = {
        "ga": tenant.general_admission(event["id"])["id"],
        "vip": tenant.make_ticket_class(event["id"], name="VIP", require_approval=True)["id"],
        "small": tenant.make_ticket_class(event["id"], name="Small", quantity_total=2)["id"],
        "nope": "prod_doesnotexist0000000",
    }
    answers = []
    for n, (klass, fields) in enumerate(SHAPES):
        sent = {**body(classes[klass]), **fields}
        response = tenant.post(path(event["id"]), sent, headers={"Idempotency-Key": f"shape{n}"})
        answers.append(f"{response.status_code} {response.text}")
    return answers, event


def _state(api: ApiClient, organization_id: str) -> str:
    async def query(conn: Any) -> str:
        rows = []
        for sql in (
            "SELECT status, ticket_class_id, payment_method, checked_in_at IS NULL,"
            " payment_id, contact_id FROM tickets WHERE organization_id = $1 ORDER BY created_at",
            "SELECT status, method, currency, amount, quantity, contact_id FROM payments"
            " WHERE organization_id = $1 ORDER BY created_at",
            "SELECT email, first_name, last_name, phone FROM contacts"
            " WHERE organization_id = $1 ORDER BY created_at",
            "SELECT kind, topic FROM outbox WHERE organization_id = $1 ORDER BY id",
            "SELECT name, quantity_sold FROM ticket_classes WHERE organization_id = $1"
            " ORDER BY name",
            "SELECT tickets_sold FROM events WHERE organization_id = $1",
        ):
            rows.append([tuple(r) for r in await conn.fetch(sql, organization_id)])
        return repr(rows)

    result: str = api.run(query)
    return _normalized(result)


def test_one_statement_and_transaction_answer_alike(api: ApiClient) -> None:
    db = api.app.state.db  # type: ignore[attr-defined]
    one = api.tenant("One statement")
    answers_one, _ = _run_shapes(one)
    db.one_statement_units = False
    try:
        other = api.tenant("Transaction")
        answers_tx, _ = _run_shapes(other)
    finally:
        db.one_statement_units = True
    assert [_normalized(a) for a in answers_one] == [_normalized(a) for a in answers_tx]
    assert _state(api, one.organization_id) == _state(api, other.organization_id)
    assert consistent(api)


def test_a_class_renamed_meanwhile_shows_its_new_name(
    acme: Tenant, api: ApiClient, database_url: str
) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    with between_read_and_write(
        api, database_url, "UPDATE ticket_classes SET name = 'Renamed' WHERE id = $1", ga["id"]
    ) as made:
        response = acme.post(path(event["id"]), body(ga["id"]), headers={"Idempotency-Key": "r"})
    assert made
    assert response.status_code == 201, response.text
    assert response.json()["data"][0]["ticket_class_name"] == "Renamed"
    assert api.count("tickets") == 1
    assert api.count("payments") == 1
    assert consistent(api)


def test_a_cost_changed_meanwhile_is_the_one_charged(
    acme: Tenant, api: ApiClient, database_url: str
) -> None:
    event = acme.make_event()
    klass = acme.make_ticket_class(event["id"], name="Paid", cost="10.00")
    with between_read_and_write(
        api, database_url, "UPDATE ticket_classes SET cost = '12.50' WHERE id = $1", klass["id"]
    ) as made:
        response = acme.post(path(event["id"]), body(klass["id"], quantity=2))
    assert made
    assert response.status_code == 201, response.text
    payment = acme.get(f"/api/v1/payments/{response.json()['payment_id']}").json()["data"]
    assert payment["amount"] == "25.00"
    assert api.count("payments") == 1


@pytest.mark.parametrize("status", ["valid", "pending_approval"])  # takes seats, takes none
def test_a_class_deleted_meanwhile_is_not_found(
    acme: Tenant, api: ApiClient, database_url: str, status: str
) -> None:
    event = acme.make_event()
    klass = acme.make_ticket_class(event["id"], name="Going")
    sent = body(klass["id"], status=status)
    with between_read_and_write(
        api, database_url, "UPDATE ticket_classes SET status = 'deleted' WHERE id = $1", klass["id"]
    ) as made:
        response = acme.post(path(event["id"]), sent, headers={"Idempotency-Key": "d"})
    assert made
    assert response.status_code == 404
    assert response.json()["error"] == "Ticket class not found"
    assert (api.count("tickets"), api.count("contacts"), api.count("payments")) == (0, 0, 0)
    retry = acme.post(path(event["id"]), sent, headers={"Idempotency-Key": "d"})
    assert retry.headers["idempotent-replay"] == "true"  # the 404 was stored, once
    assert retry.content == response.content


@pytest.mark.parametrize("limit", ["ticket_class", "event"])
def test_seats_taken_meanwhile_answer_capacity_exceeded(
    acme: Tenant, api: ApiClient, database_url: str, limit: str
) -> None:
    event = acme.make_event(capacity=2 if limit == "event" else 0)
    klass = acme.make_ticket_class(
        event["id"], name="Two", quantity_total=2 if limit == "ticket_class" else 0
    )
    assert acme.make_attendees(event["id"], klass["id"], "first@example.com").status_code == 201
    # the organizer lowers the limit to the seats already taken
    lower = (
        "UPDATE ticket_classes SET quantity_total = 1 WHERE id = $1"
        if limit == "ticket_class"
        else "UPDATE events SET capacity = 1 WHERE id = (SELECT event_id FROM ticket_classes"
        " WHERE id = $1)"
    )
    with between_read_and_write(api, database_url, lower, klass["id"]) as made:
        response = acme.post(path(event["id"]), body(klass["id"]))
    assert made
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "capacity_exceeded"
    assert response.json()["details"] == {"remaining": 0, "limit": limit}
    assert (api.count("tickets"), api.count("contacts"), api.count("payments")) == (1, 1, 1)
    assert consistent(api)


def test_an_event_that_starts_requiring_approval_meanwhile_gets_pending_tickets(
    acme: Tenant, api: ApiClient, database_url: str
) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    with between_read_and_write(
        api, database_url, "UPDATE events SET require_approval = true WHERE id = $1", event["id"]
    ) as made:
        response = acme.post(path(event["id"]), body(ga["id"]))
    assert made
    assert response.status_code == 201, response.text
    assert response.json()["data"][0]["status"] == "pending_approval"
    assert consistent(api)


def test_a_contact_created_meanwhile_is_the_one_upserted(
    acme: Tenant, api: ApiClient, database_url: str
) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    with between_read_and_write(
        api,
        database_url,
        "INSERT INTO contacts (id, organization_id, email, first_name, last_name, created_at,"
        " updated_at) VALUES ('con_meanwhile', $1, 'jane@example.com', 'Early', 'Bird', 1, 1)",
        acme.organization_id,
    ) as made:
        response = acme.post(
            path(event["id"]),
            {
                "ticket_class_id": ga["id"],
                "contact": {"email": "jane@example.com", "first_name": "Jane"},
            },
        )
    assert made
    assert response.status_code == 201, response.text
    ticket = response.json()["data"][0]
    assert (ticket["first_name"], ticket["last_name"]) == ("Jane", "Bird")
    assert api.count("contacts") == 1
    assert api.count("tickets", "contact_id = 'con_meanwhile'") == 1


def test_a_contact_renamed_meanwhile_shows_its_new_names(
    acme: Tenant, api: ApiClient, database_url: str
) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    assert acme.make_attendees(event["id"], ga["id"]).status_code == 201
    with between_read_and_write(
        api,
        database_url,
        "UPDATE contacts SET first_name = 'Janet', last_name = 'Smith' WHERE email = $1",
        "jane@example.com",
    ) as made:
        response = acme.post(
            path(event["id"]),
            {"ticket_class_id": ga["id"], "contact": {"email": "jane@example.com"}},
        )
    assert made
    assert response.status_code == 201, response.text
    ticket = response.json()["data"][0]
    assert (ticket["first_name"], ticket["last_name"]) == ("Janet", "Smith")
    assert api.count("contacts") == 1


def test_an_invited_ticket_that_appears_meanwhile_is_upgraded(
    acme: Tenant, api: ApiClient, database_url: str
) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    pending = acme.make_attendees(event["id"], ga["id"], status="pending_approval")
    pending_id = pending.json()["data"][0]["id"]
    # pending and invited both hold no seat: the counters stay true
    with between_read_and_write(
        api, database_url, "UPDATE tickets SET status = 'invited' WHERE id = $1", pending_id
    ) as made:
        response = acme.make_attendees(event["id"], ga["id"])
    assert made
    assert_upgraded(response, pending_id, api)


def test_a_key_answered_meanwhile_is_replayed_and_executes_nothing(
    acme: Tenant, api: ApiClient, database_url: str
) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    sent = body(ga["id"])
    fingerprint = jsonutil.fingerprint("POST", path(event["id"]), sent)
    with between_read_and_write(
        api,
        database_url,
        "INSERT INTO idempotency_keys (api_key_id, key, fingerprint, status_code, headers, body,"
        " created_at) VALUES ($1, 'answered', $2, 201, '{\"content-type\":\"application/json\"}',"
        " $3, $4)",
        acme.key_id,
        fingerprint,
        b'{"answered":"elsewhere"}',
        api.now(),
    ) as made:
        response = acme.post(path(event["id"]), sent, headers={"Idempotency-Key": "answered"})
    assert made
    assert response.status_code == 201
    assert response.json() == {"answered": "elsewhere"}
    assert response.headers["idempotent-replay"] == "true"
    assert (api.count("tickets"), api.count("contacts"), api.count("payments")) == (0, 0, 0)


def test_a_key_in_flight_answers_409_and_executes_nothing(
    acme: Tenant, api: ApiClient, database_url: str
) -> None:
    """The key's lock is the statement's first part: while another request with the key holds
    it, neither the statement nor the transaction after it executes anything."""
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    held = asyncio.Event()
    release = asyncio.Event()

    async def hold(conn: asyncpg.Connection) -> None:
        async with conn.transaction():
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"{acme.key_id}\x1fbusy"
            )
            held.set()
            await release.wait()

    async def scenario() -> None:
        conn = await asyncpg.connect(database_url)
        holder = asyncio.create_task(hold(conn))
        await held.wait()
        try:
            response = await asyncio.to_thread(
                acme.post, path(event["id"]), body(ga["id"]), headers={"Idempotency-Key": "busy"}
            )
        finally:
            release.set()
            await holder
            await conn.close()
        assert response.status_code == 409
        assert response.json()["code"] == "idempotent_request_in_progress"

    asyncio.run(scenario())
    assert api.count("tickets") == 0


def test_an_expired_key_is_replaced_in_one_statement(
    acme: Tenant, api: ApiClient, clock: Any
) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    first = acme.post(path(event["id"]), body(ga["id"]), headers={"Idempotency-Key": "old"})
    clock.advance(hours=25)
    again, sent = counted(
        lambda: acme.post(path(event["id"]), body(ga["id"]), headers={"Idempotency-Key": "old"})
    )
    assert (first.status_code, again.status_code) == (201, 201)
    assert "idempotent-replay" not in again.headers
    assert sent == 3
    replay = acme.post(path(event["id"]), body(ga["id"]), headers={"Idempotency-Key": "old"})
    assert replay.content == again.content


# -- changes that commit while the statement waits for a row lock ----------------------------


def test_an_invited_ticket_committed_while_the_statement_waits_is_upgraded(
    acme: Tenant, api: ApiClient, database_url: str
) -> None:
    """The statement's snapshot cannot see an invited ticket committed while it waited on the
    contact's row; the contact's new row version makes it give way to the transaction."""
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    pending = acme.make_attendees(event["id"], ga["id"], status="pending_approval")
    pending_id = pending.json()["data"][0]["id"]
    # what a concurrent create of an invited ticket for Jane does: upsert her, add the ticket
    holder = Holder(
        database_url,
        ("UPDATE contacts SET updated_at = updated_at + 1 WHERE email = 'jane@example.com'",),
        ("UPDATE tickets SET status = 'invited' WHERE id = $1", pending_id),
    )
    try:
        response = in_thread(lambda: acme.make_attendees(event["id"], ga["id"]))
        holder.wait_until_blocking()
    finally:
        holder.commit()
    assert_upgraded(response(), pending_id, api)


def test_a_class_renamed_while_the_statement_waits_shows_its_new_name(
    acme: Tenant, api: ApiClient, database_url: str
) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    holder = Holder(
        database_url, ("UPDATE ticket_classes SET name = 'Renamed' WHERE id = $1", ga["id"])
    )
    try:
        response = in_thread(lambda: acme.post(path(event["id"]), body(ga["id"])))
        holder.wait_until_blocking()
    finally:
        holder.commit()
    answer = response()
    assert answer.status_code == 201, answer.text
    assert answer.json()["data"][0]["ticket_class_name"] == "Renamed"
    assert api.count("tickets") == 1
    assert consistent(api)


def test_a_retry_while_the_statement_waits_answers_409_at_once(
    acme: Tenant, api: ApiClient, database_url: str
) -> None:
    """The first request's statement holds its key's lock while it waits on the class row; a
    retry with the key answers 409 at once (its own statement stops at the lock, before any
    row), and once the first commits, the next retry replays it."""
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    keyed = {"Idempotency-Key": "waiting"}
    holder = Holder(database_url, ("UPDATE ticket_classes SET name = name WHERE id = $1", ga["id"]))
    try:
        first = in_thread(lambda: acme.post(path(event["id"]), body(ga["id"]), headers=keyed))
        holder.wait_until_blocking()
        started = time.monotonic()
        retry = acme.post(path(event["id"]), body(ga["id"]), headers=keyed)
        waited = time.monotonic() - started
    finally:
        holder.commit()
    assert retry.status_code == 409, retry.text
    assert retry.json()["code"] == "idempotent_request_in_progress"
    assert waited < 5  # it did not queue behind the held row (the holder waits 30 s)
    answer = first()
    assert answer.status_code == 201, answer.text
    later = acme.post(path(event["id"]), body(ga["id"]), headers=keyed)
    assert later.headers["idempotent-replay"] == "true"
    assert later.content == answer.content
    assert api.count("tickets") == 1


def test_a_webhook_endpoint_enabled_meanwhile_gets_the_events(
    acme: Tenant, api: ApiClient, database_url: str
) -> None:
    """An organization without an enabled endpoint sends no outbox insert in the statement,
    only the expectation that there is still none: an endpoint enabled between the read and
    the statement makes it give way, and the transaction queues the events for it."""
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    created = acme.post(
        "/api/v1/webhook-endpoints", {"url": "https://hooks.example.com/t", "enabled": False}
    )
    assert created.status_code == 201, created.text
    endpoint_id = created.json()["data"]["id"]
    with between_read_and_write(
        api, database_url, "UPDATE webhook_endpoints SET enabled = true WHERE id = $1", endpoint_id
    ) as made:
        response = acme.post(path(event["id"]), body(ga["id"]), headers={"Idempotency-Key": "w"})
    assert made
    assert response.status_code == 201, response.text
    # attendee.created and payment.succeeded, to the endpoint enabled meanwhile
    assert api.count("outbox", "kind = 'webhook' AND ordering_key LIKE $1", f"{endpoint_id}/%") == 2
    assert api.count("tickets") == 1
    assert consistent(api)
