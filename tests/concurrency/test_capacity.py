"""The capacity rule under real concurrency (SPEC §3.3 step 4): never an oversold class or event.

Every scenario races many requests across real server processes (SQLite: one server with two
workers; PostgreSQL: two servers sharing the database), watches the books while the race runs,
and then checks the final counters against the ticket rows read straight from the database.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import httpx
import pytest

from tessera.db import integrity
from tests.concurrency.harness import (
    BookMonitor,
    Client,
    Cluster,
    book_problems,
    describe,
    server_errors,
)

pytestmark = pytest.mark.slow


def _error_code(response: httpx.Response) -> str | None:
    code: str | None = response.json().get("code")
    return code


async def _final_books(cluster: Cluster, event_id: str) -> dict[str, Any]:
    """The event's books after a race; and no reference the schema leaves to the code (no
    foreign key: tessera.db.integrity) broken by it, anywhere in the database."""
    async with cluster.inspect() as db:
        broken = {}
        for name, sql in integrity.CHECKS.items():
            if count := await db.fetchval(sql):
                broken[name] = count
        assert not broken, f"references broken by the race: {broken}"
        return await db.event_books(event_id)


def _assert_monitor_clean(monitor: BookMonitor) -> None:
    assert monitor.snapshots >= 2, "the book monitor never looked at the database"
    assert not monitor.problems, "books out of balance during the race:\n" + "\n".join(
        monitor.problems[:20]
    )


# 1. One class, quantity_total 25, 90 racing single-seat requests -------------------------------

CLASS_TOTAL = 25
CLASS_RACERS = 200  # the more in flight at the boundary, the likelier a race shows


def test_class_capacity_is_never_oversold(cluster: Cluster) -> None:
    asyncio.run(_class_capacity(cluster))


async def _class_capacity(cluster: Cluster) -> None:
    async with Client(cluster) as api:
        event = await api.make_event()  # event capacity 0: unlimited, the class binds
        limited = await api.make_class(event["id"], "Limited", quantity_total=CLASS_TOTAL)
        await api.warm(CLASS_RACERS // len(cluster.urls))
        async with BookMonitor(cluster, event["id"]) as monitor:
            responses = await asyncio.gather(
                *(
                    api.create_attendees(
                        event["id"], limited["id"], f"racer{i}@example.com", route=i
                    )
                    for i in range(CLASS_RACERS)
                )
            )

    assert not server_errors(responses), server_errors(responses)
    created = [r for r in responses if r.status_code == 201]
    refused = [r for r in responses if r.status_code != 201]
    assert len(created) == CLASS_TOTAL, describe(responses)
    for response in refused:
        assert response.status_code == 409, describe(responses)
        body = response.json()
        assert body["code"] == "capacity_exceeded", body
        assert body["details"] == {"remaining": 0, "limit": "ticket_class"}, body
    for response in created:
        assert len(response.json()["data"]) == 1
    _assert_monitor_clean(monitor)

    books = await _final_books(cluster, event["id"])
    assert not book_problems(books), book_problems(books)
    assert books["classes"][limited["id"]]["quantity_sold"] == CLASS_TOTAL
    assert books["classes"][limited["id"]]["rows"] == CLASS_TOTAL
    assert books["tickets_sold"] == books["event_rows"] == CLASS_TOTAL
    issued = {r.json()["data"][0]["id"] for r in created}
    async with cluster.inspect() as db:
        rows = await db.fetch(
            "SELECT id FROM tickets WHERE event_id = $1 AND status IN ('valid', 'checked_in')",
            event["id"],
        )
        payments = await db.fetchval(
            "SELECT count(*) FROM payments WHERE event_id = $1", event["id"]
        )
    assert {row["id"] for row in rows} == issued  # the rows are exactly the tickets answered 201
    assert payments == CLASS_TOTAL  # a refused request left no payment behind


# 2. Mixed quantities against an EVENT capacity shared by two unlimited classes -------------------

EVENT_CAPACITY = 40
EVENT_RACERS = 64


def test_event_capacity_with_mixed_quantities(cluster: Cluster) -> None:
    asyncio.run(_event_capacity(cluster))


async def _event_capacity(cluster: Cluster) -> None:
    rng = random.Random(20261126)
    quantities = [rng.randint(1, 4) for _ in range(EVENT_RACERS)]
    async with Client(cluster) as api:
        event = await api.make_event(capacity=EVENT_CAPACITY)
        classes = [
            await api.make_class(event["id"], "Stalls"),  # quantity_total 0: unlimited
            await api.make_class(event["id"], "Balcony"),
        ]
        chosen = [classes[i % 2]["id"] for i in range(EVENT_RACERS)]
        await api.warm(EVENT_RACERS // len(cluster.urls))
        async with BookMonitor(cluster, event["id"]) as monitor:
            responses = await asyncio.gather(
                *(
                    api.create_attendees(
                        event["id"],
                        chosen[i],
                        f"mixed{i}@example.com",
                        route=i,
                        quantity=quantities[i],
                    )
                    for i in range(EVENT_RACERS)
                )
            )

    assert not server_errors(responses), server_errors(responses)
    issued = 0
    issued_per_class = {c["id"]: 0 for c in classes}
    rejected: list[int] = []
    for i, response in enumerate(responses):
        if response.status_code == 201:
            body = response.json()
            assert body["quantity"] == quantities[i] == len(body["data"]), body
            issued += quantities[i]
            issued_per_class[chosen[i]] += quantities[i]
        else:
            assert response.status_code == 409, describe(responses)
            body = response.json()
            assert body["code"] == "capacity_exceeded", body
            assert body["details"]["limit"] == "event", body
            # seats are only ever taken here, so what remained was too little for this request
            assert body["details"]["remaining"] < quantities[i], (body, quantities[i])
            rejected.append(quantities[i])

    assert sum(quantities) > EVENT_CAPACITY, "the race must ask for more than there is"
    assert issued <= EVENT_CAPACITY, f"oversold: {issued} seats issued for {EVENT_CAPACITY}"
    remaining = EVENT_CAPACITY - issued
    # Fewer than all seats only when no refused request would have fitted in what is left.
    assert all(q > remaining for q in rejected), (
        f"{remaining} seats left unsold while a refused request asked for "
        f"{min(rejected)}: {describe(responses)}"
    )
    _assert_monitor_clean(monitor)

    books = await _final_books(cluster, event["id"])
    assert not book_problems(books), book_problems(books)
    assert books["tickets_sold"] == books["event_rows"] == issued
    for class_id, count in issued_per_class.items():
        assert books["classes"][class_id]["quantity_sold"] == count
        assert books["classes"][class_id]["rows"] == count


# 3. Approvals, demotions, deletions and check-ins racing new tickets -----------------------------

RACE_CAPACITY = 20
VALID_BEFORE = 14
PENDING_BEFORE = 16
NEW_RACERS = 16
CONTESTED = 4  # pending tickets that are approved AND deleted at the same time


def test_transitions_racing_creates(cluster: Cluster) -> None:
    asyncio.run(_transitions(cluster))


async def _transitions(cluster: Cluster) -> None:
    async with Client(cluster) as api:
        event = await api.make_event(capacity=RACE_CAPACITY)
        tc = await api.make_class(event["id"], "Floor", quantity_total=RACE_CAPACITY)
        base = f"/api/v1/events/{event['id']}/attendees"

        async def seed(email: str, status: str, route: int) -> str:
            response = await api.create_attendees(
                event["id"], tc["id"], email, status=status, route=route
            )
            assert response.status_code == 201, response.text
            ticket_id: str = response.json()["data"][0]["id"]
            return ticket_id

        valid = list(
            await asyncio.gather(
                *(seed(f"valid{i}@example.com", "valid", i) for i in range(VALID_BEFORE))
            )
        )
        pending = list(
            await asyncio.gather(
                *(
                    seed(f"pending{i}@example.com", "pending_approval", i)
                    for i in range(PENDING_BEFORE)
                )
            )
        )

        deleted_valid = valid[:8]
        demoted = valid[8:12]
        checked_in = valid[12:14]
        contested = pending[-CONTESTED:]

        # (label, method, path, body)
        ops: list[tuple[str, str, str, Any]] = []
        ops += [("approve", "PATCH", f"{base}/{t}", {"status": "valid"}) for t in pending]
        ops += [("delete_contested", "DELETE", f"{base}/{t}", None) for t in contested]
        ops += [("delete_valid", "DELETE", f"{base}/{t}", None) for t in deleted_valid]
        ops += [("demote", "PATCH", f"{base}/{t}", {"status": "pending_approval"}) for t in demoted]
        ops += [("check_in", "PATCH", f"{base}/{t}", {"status": "checked_in"}) for t in checked_in]
        ops += [
            (
                "create",
                "POST",
                base,
                {
                    "ticket_class_id": tc["id"],
                    "status": "valid",
                    "contact": {"email": f"late{i}@example.com", "first_name": "Late"},
                },
            )
            for i in range(NEW_RACERS)
        ]
        random.Random(7).shuffle(ops)

        await api.warm(len(ops) // len(cluster.urls))
        async with BookMonitor(cluster, event["id"]) as monitor:
            responses = await asyncio.gather(
                *(
                    api.request(method, path, route=i, json=body)
                    for i, (_, method, path, body) in enumerate(ops)
                )
            )

    assert not server_errors(responses), server_errors(responses)
    outcome: dict[str, list[int]] = {}
    contested_approved = 0
    for (label, _, path, _), response in zip(ops, responses, strict=True):
        status = response.status_code
        outcome.setdefault(label, []).append(status)
        if status >= 300:
            code = _error_code(response)
            assert (status, code) == (409, "capacity_exceeded") or status == 422, (
                label,
                status,
                response.text,
            )
        if label == "approve" and status == 200 and path.rsplit("/", 1)[-1] in contested:
            contested_approved += 1
        if label in ("delete_contested", "delete_valid", "demote", "check_in"):
            assert status == 200, (label, response.text)  # they never need a seat
        if label == "create":
            assert status in (201, 409), (label, response.text)
        if label == "approve" and status == 422:
            assert path.rsplit("/", 1)[-1] in contested, response.text  # only deleted ones

    approved = outcome["approve"].count(200)
    created = outcome["create"].count(201)
    refused = outcome["approve"].count(409) + outcome["create"].count(409)
    # Seats that could ever be had: what was free, plus every seat freed during the race.
    supply = (RACE_CAPACITY - VALID_BEFORE) + len(deleted_valid) + len(demoted) + contested_approved
    assert approved + created <= supply, outcome
    # 32 requests wanted a seat and at most 22 existed: the wall was hit.
    assert refused >= (PENDING_BEFORE - CONTESTED) + NEW_RACERS - (supply - contested_approved), (
        outcome
    )
    _assert_monitor_clean(monitor)

    expected_sold = (
        VALID_BEFORE + approved + created - len(deleted_valid) - len(demoted) - contested_approved
    )
    books = await _final_books(cluster, event["id"])
    assert not book_problems(books), book_problems(books)
    assert books["tickets_sold"] == books["event_rows"] == expected_sold, (books, outcome)
    assert books["classes"][tc["id"]]["quantity_sold"] == expected_sold
    assert expected_sold <= RACE_CAPACITY

    async with cluster.inspect() as db:
        statuses = {
            row["id"]: row["status"]
            for row in await db.fetch(
                "SELECT id, status FROM tickets WHERE event_id = $1", event["id"]
            )
        }
    assert all(statuses[t] == "deleted" for t in deleted_valid + contested)
    assert all(statuses[t] == "pending_approval" for t in demoted)
    assert all(statuses[t] == "checked_in" for t in checked_in)


# 4. Deleting a class while a request is taking a seat in it --------------------------------------


async def _blocked_on_locks(cluster: Cluster, count: int, what: str) -> None:
    """PostgreSQL: wait until ``count`` server transactions wait on a row lock."""
    async with cluster.inspect() as db:
        waiting = 0
        for _ in range(500):
            waiting = await db.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock'"
            )
            if waiting >= count:
                return
            await asyncio.sleep(0.02)
    pytest.fail(f"staging failed: {waiting} transactions wait on a lock, expected {count} ({what})")


@pytest.mark.parametrize("taker", ["create", "approve"])
def test_class_deletion_racing_a_seat(cluster: Cluster, taker: str) -> None:
    asyncio.run(_deletion_race(cluster, taker))


async def _deletion_race(cluster: Cluster, taker: str) -> None:
    """A class that is deleted holds no seat (SPEC §3.2: deletion is refused while any ticket
    of the class is valid or checked_in; deleted classes refuse new tickets).

    The race is staged, not hoped for: the test holds the class row (PostgreSQL: a row lock;
    SQLite: the write lock), lets the DELETE queue on it first and the seat-taking request
    second, then lets go. The DELETE runs first; the seat request must then see the class gone.
    """
    async with Client(cluster) as api:
        event = await api.make_event()
        tc = await api.make_class(event["id"], f"Doomed {taker}")
        base = f"/api/v1/events/{event['id']}"
        pending_id = ""
        if taker == "approve":
            seeded = await api.create_attendees(
                event["id"], tc["id"], "waiting@example.com", status="pending_approval"
            )
            assert seeded.status_code == 201, seeded.text
            pending_id = seeded.json()["data"][0]["id"]

        def take_seat() -> asyncio.Future[httpx.Response]:
            if taker == "create":
                return asyncio.ensure_future(
                    api.create_attendees(event["id"], tc["id"], "late@example.com", route=1)
                )
            return asyncio.ensure_future(
                api.request(
                    "PATCH", f"{base}/attendees/{pending_id}", route=1, json={"status": "valid"}
                )
            )

        async with cluster.inspect() as holder:
            if cluster.kind == "postgresql":
                await holder.execute("BEGIN")
                await holder.fetch(
                    "SELECT id FROM ticket_classes WHERE id = $1 FOR UPDATE", tc["id"]
                )
            else:
                await holder.execute("BEGIN IMMEDIATE")
            deletion = asyncio.ensure_future(
                api.request("DELETE", f"{base}/ticket-classes/{tc['id']}", route=0)
            )
            if cluster.kind == "postgresql":
                await _blocked_on_locks(cluster, 1, "the DELETE")
            else:
                await asyncio.sleep(0.3)
            seat = take_seat()
            if cluster.kind == "postgresql":
                await _blocked_on_locks(cluster, 2, f"the DELETE, then the {taker}")
            else:
                await asyncio.sleep(0.3)
            await holder.execute("ROLLBACK")
            deleted, seated = await deletion, await seat

    async with cluster.inspect() as db:
        row = await db.fetchrow(
            "SELECT status, quantity_sold, (SELECT count(*) FROM tickets t"
            " WHERE t.ticket_class_id = tc.id AND t.status IN ('valid', 'checked_in')) AS seats"
            " FROM ticket_classes tc WHERE id = $1",
            tc["id"],
        )
        books = await db.event_books(event["id"])
    assert deleted.status_code in (200, 409), deleted.text
    assert seated.status_code < 500, seated.text
    assert not book_problems(books), book_problems(books)
    state = (
        f"DELETE class → {deleted.status_code} {deleted.text}; {taker} → {seated.status_code} "
        f"{seated.text[:200]}; class now {row}"
    )
    assert not (row["status"] == "deleted" and row["seats"] > 0), (
        "a deleted class holds seats: " + state
    )
    if deleted.status_code == 200:
        assert seated.status_code in (404, 409, 422), state
    else:
        assert seated.status_code in (200, 201), state
