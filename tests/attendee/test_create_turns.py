"""Creates of a crowded ticket class take turns in their process (tessera.db.turns, PostgreSQL).

Every create of a class updates the class's row. When a process starts many creates of one
class (a rush), they reach the database one at a time, the others waiting in the process rather
than on the row's lock (where each wait costs PostgreSQL a sleep, a wake-up and a re-check);
creates of other classes do not wait, nor do creates of a class that is not crowded; what they
answer is what they answered without turns.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tessera.db import turns
from tests.attendee.holding import Holder, in_thread
from tests.support import ApiClient, Tenant, truncate_postgres


@pytest.fixture
def database_url(pg_url: str) -> str:
    """PostgreSQL only: SQLite's one connection per process already runs one unit at a time."""
    truncate_postgres(pg_url)
    return pg_url


@pytest.fixture
def acme(api: ApiClient) -> Tenant:
    return api.tenant()


@pytest.fixture
def crowded(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every class is crowded from its first create: the app runs in this process."""
    monkeypatch.setattr(turns, "CROWDED", 1)
    turns.forget()
    yield
    turns.forget()


def path(event_id: str) -> str:
    return f"/api/v1/events/{event_id}/attendees"


def body(class_id: str, email: str) -> dict[str, Any]:
    return {"ticket_class_id": class_id, "contact": {"email": email, "first_name": "Jane"}}


def wait_for(condition: Any) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "the creates did not all come to wait"
        time.sleep(0.02)


def test_creates_of_a_crowded_class_wait_their_turn_in_the_process_not_on_the_row(
    acme: Tenant, api: ApiClient, database_url: str, crowded: None
) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    vip = acme.make_ticket_class(event["id"], quantity_total=10)
    holder = Holder(database_url, ("UPDATE ticket_classes SET name = name WHERE id = $1", ga["id"]))
    try:
        creates = [
            in_thread(lambda i=i: acme.post(path(event["id"]), body(ga["id"], f"g{i}@example.com")))
            for i in range(5)
        ]
        wait_for(lambda: turns.waiting(ga["id"]) == 5)
        holder.wait_until_blocking()
        time.sleep(0.2)  # time for any create that would not wait its turn to reach the row
        assert holder.waiters() == 1  # one create waits on the row; four wait in the process
        # another class of the same event is not held up by the first class's turn
        other = acme.post(path(event["id"]), body(vip["id"], "vip@example.com"))
        assert other.status_code == 201, other.text
        assert turns.waiting(ga["id"]) == 5
    finally:
        holder.commit()
    answers = [create() for create in creates]
    assert [a.status_code for a in answers] == [201] * 5, [a.text for a in answers]
    assert api.count("tickets", "ticket_class_id = $1", ga["id"]) == 5
    assert api.count("ticket_classes", "id = $1 AND quantity_sold = 5", ga["id"]) == 1
    assert turns.waiting(ga["id"]) == 0  # the table keeps only rows contended now


def test_a_retry_of_a_key_waiting_its_turn_answers_409_at_once(
    acme: Tenant, api: ApiClient, database_url: str, crowded: None
) -> None:
    """A key whose request waits for its class's turn is in flight: a retry with it is answered
    the in-progress 409 at once, as the key's lock answers it, not queued behind the turn."""
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    keyed = {"Idempotency-Key": "queued"}
    holder = Holder(database_url, ("UPDATE ticket_classes SET name = name WHERE id = $1", ga["id"]))
    try:
        first = in_thread(lambda: acme.post(path(event["id"]), body(ga["id"], "a@example.com")))
        wait_for(lambda: turns.waiting(ga["id"]) == 1)
        queued = in_thread(
            lambda: acme.post(path(event["id"]), body(ga["id"], "b@example.com"), headers=keyed)
        )
        wait_for(lambda: turns.waiting(ga["id"]) == 2)  # waiting behind the first
        started = time.monotonic()
        retry = acme.post(path(event["id"]), body(ga["id"], "b@example.com"), headers=keyed)
        assert time.monotonic() - started < 5  # the holder waits 30 s
        assert retry.status_code == 409, retry.text
        assert retry.json()["code"] == "idempotent_request_in_progress"
        assert retry.headers["retry-after"] == "1"
    finally:
        holder.commit()
    assert first().status_code == 201
    assert queued().status_code == 201
    replayed = acme.post(path(event["id"]), body(ga["id"], "b@example.com"), headers=keyed)
    assert replayed.status_code == 201 and replayed.headers["idempotent-replay"] == "true"
    assert api.count("tickets") == 2


def test_creates_of_a_class_that_is_not_crowded_wait_on_the_row_as_before(
    acme: Tenant, api: ApiClient, database_url: str
) -> None:
    """A few creates of one class at once (creates spread over many classes meet like this)
    are left to the database to order: queueing them in the process measured a worse p99."""
    turns.forget()
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    holder = Holder(database_url, ("UPDATE ticket_classes SET name = name WHERE id = $1", ga["id"]))
    try:
        creates = [
            in_thread(lambda i=i: acme.post(path(event["id"]), body(ga["id"], f"s{i}@example.com")))
            for i in range(3)
        ]
        wait_for(lambda: holder.waiters() == 3)  # all three wait on the row itself
        assert turns.waiting(ga["id"]) == 0
    finally:
        holder.commit()
    assert [create().status_code for create in creates] == [201] * 3
    assert api.count("ticket_classes", "id = $1 AND quantity_sold = 3", ga["id"]) == 1
