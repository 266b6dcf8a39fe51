"""The public form and the waitlist under real races, across server processes (SPEC §9).

SQLite: one `tessera serve --workers 2`; PostgreSQL: two servers sharing the database (see
tests/concurrency/conftest.py). Every browser is its own HTTP client with its own cookie jar;
it loads the page from one process and posts to another.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tests.concurrency.harness import (
    TESSERA,
    BookMonitor,
    Client,
    Cluster,
    book_problems,
    server_errors,
)
from tests.public.support import csrf_tokens, form_body

pytestmark = pytest.mark.slow

SEATS = 10
RUSH = 48


@contextlib.asynccontextmanager
async def browsers(count: int) -> AsyncIterator[list[httpx.AsyncClient]]:
    clients = [httpx.AsyncClient(timeout=60) for _ in range(count)]
    try:
        yield clients
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))


async def _books(cluster: Cluster, event_id: str) -> dict[str, Any]:
    async with cluster.inspect() as db:
        return await db.event_books(event_id)


def test_a_rush_of_registrations_for_ten_seats(cluster: Cluster) -> None:
    asyncio.run(_rush(cluster))


async def _rush(cluster: Cluster) -> None:
    urls = cluster.urls
    async with Client(cluster) as api:
        event = await api.make_event(name="Rush Night")
        limited = await api.make_class(event["id"], "Ten seats", quantity_total=SEATS)
    async with browsers(RUSH) as clients:
        pages = await asyncio.gather(
            *(c.get(f"{urls[i % len(urls)]}/e/{event['id']}") for i, c in enumerate(clients))
        )
        tokens = [csrf_tokens(page.text)[0] for page in pages]
        async with BookMonitor(cluster, event["id"]) as monitor:
            responses = await asyncio.gather(
                *(
                    c.post(
                        f"{urls[(i + 1) % len(urls)]}/e/{event['id']}/register",
                        data=form_body(tokens[i], limited["id"], f"rush{i}@example.com"),
                    )
                    for i, c in enumerate(clients)
                )
            )
    assert not server_errors(responses), server_errors(responses)
    won = [r for r in responses if r.status_code == 303]
    lost = [r for r in responses if r.status_code != 303]
    assert len(won) == SEATS, [r.status_code for r in responses]
    for response in won:
        assert response.headers["location"].startswith("/t/pay_")
    for response in lost:
        assert response.status_code == 409, response.text[:500]
        assert "Sold out" in response.text
        assert 'name="csrf_token"' in response.text  # the form, to join its waitlist
    assert not monitor.problems, monitor.problems[:5]
    books = await _books(cluster, event["id"])
    assert not book_problems(books), book_problems(books)
    assert books["classes"][limited["id"]]["rows"] == SEATS
    async with cluster.inspect() as db:
        payments = await db.fetchval(
            "SELECT count(*) FROM payments WHERE event_id = $1", event["id"]
        )
        emails = await db.fetchval(
            "SELECT count(*) FROM outbox WHERE topic = 'attendee.confirmation' AND payload LIKE $1",
            f"%{event['id']}%",
        )
    assert payments == SEATS and emails == SEATS


# The waitlist ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def outbox_workers(cluster: Cluster) -> Iterator[None]:
    """PostgreSQL servers leave delivery to `tessera worker`: run two, racing each other.
    (On SQLite each server process runs the worker itself: two already.)"""
    procs: list[subprocess.Popen[bytes]] = []
    if cluster.kind == "postgresql":
        for _ in range(2):
            procs.append(
                subprocess.Popen(
                    [str(TESSERA), "worker"],
                    env=cluster.env,
                    cwd=cluster.workdir,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
    try:
        yield
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=15)


async def _until(cluster: Cluster, sql: str, *args: Any, want: int, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    value = -1
    while time.monotonic() < deadline:
        async with cluster.inspect() as db:
            value = int(await db.fetchval(sql, *args))
        if value == want:
            return value
        await asyncio.sleep(0.1)
    return value


def test_seats_freed_at_once_and_claimed_at_once(
    cluster: Cluster,
    outbox_workers: None,
) -> None:
    asyncio.run(_waitlist_race(cluster))


async def _waitlist_race(cluster: Cluster) -> None:
    urls = cluster.urls
    async with Client(cluster) as api:
        event = await api.make_event(name="Waitlist Race")
        tc = await api.make_class(event["id"], "Five seats", quantity_total=5)
        holders = []
        for i in range(5):
            created = await api.create_attendees(event["id"], tc["id"], f"holder{i}@example.com")
            holders.append(created.json()["data"][0]["id"])
        # Eight people join the line, one after the other (the line's order is theirs).
        line = [f"line{i}@example.com" for i in range(8)]
        async with browsers(1) as (browser,):
            for i, email in enumerate(line):
                page = await browser.get(f"{urls[i % len(urls)]}/e/{event['id']}")
                body = form_body(csrf_tokens(page.text)[-1], tc["id"], email)
                joined = await browser.post(
                    f"{urls[i % len(urls)]}/e/{event['id']}/waitlist", data=body
                )
                assert joined.status_code == 303, joined.text[:500]
        # Three seats freed at once, through both processes.
        freed = await asyncio.gather(
            *(
                api.request(
                    "PATCH",
                    f"/api/v1/events/{event['id']}/attendees/{holders[i]}",
                    route=i,
                    json={"status": "deleted" if i % 2 else "rejected"},
                )
                for i in range(3)
            )
        )
        assert [r.status_code for r in freed] == [200, 200, 200]
        offered_sql = (
            "SELECT count(*) FROM waitlist_entries WHERE event_id = $1 AND status = 'offered'"
        )
        assert await _until(cluster, offered_sql, event["id"], want=3) == 3
        await asyncio.sleep(1.5)  # every check row delivered: still exactly three offers
        async with cluster.inspect() as db:
            entries = await db.fetch(
                "SELECT email, status, claim_token, attendee_id FROM waitlist_entries"
                " WHERE event_id = $1 ORDER BY created_at, id",
                event["id"],
            )
            invited = await db.fetchval(
                "SELECT count(*) FROM tickets WHERE event_id = $1 AND status = 'invited'",
                event["id"],
            )
        assert [e["email"] for e in entries] == line
        assert [e["status"] for e in entries] == ["offered"] * 3 + ["waiting"] * 5
        assert invited == 3
        # The organizer takes one of the three free seats by hand: two seats for three offers.
        extra = await api.create_attendees(event["id"], tc["id"], "vip@example.com")
        assert extra.status_code == 201
        offered = entries[:3]
        async with browsers(3) as clients:
            claim_pages = await asyncio.gather(
                *(
                    c.get(f"{urls[i % len(urls)]}/e/{event['id']}/claim/{e['claim_token']}")
                    for i, (c, e) in enumerate(zip(clients, offered, strict=True))
                )
            )
            claims = await asyncio.gather(
                *(
                    c.post(
                        f"{urls[(i + 1) % len(urls)]}/e/{event['id']}/claim/{e['claim_token']}",
                        data={"csrf_token": csrf_tokens(p.text)[0], "action": "claim"},
                    )
                    for i, (c, e, p) in enumerate(zip(clients, offered, claim_pages, strict=True))
                )
            )
    assert not server_errors(claims), server_errors(claims)
    # The first two in line get the two seats; the third keeps its place, first in line.
    assert [c.status_code for c in claims] == [303, 303, 409]
    assert "still first in line" in claims[2].text
    books = await _books(cluster, event["id"])
    assert not book_problems(books), book_problems(books)
    assert books["classes"][tc["id"]]["rows"] == 5
    async with cluster.inspect() as db:
        statuses = await db.fetch(
            "SELECT status FROM waitlist_entries WHERE event_id = $1 ORDER BY created_at, id",
            event["id"],
        )
    assert [s["status"] for s in statuses] == ["claimed", "claimed"] + ["waiting"] * 6


def test_a_double_submit_racing_across_processes_issues_one_batch(cluster: Cluster) -> None:
    asyncio.run(_double_submit(cluster))


async def _double_submit(cluster: Cluster) -> None:
    urls = cluster.urls
    async with Client(cluster) as api:
        event = await api.make_event(name="Double Click")
        tc = await api.make_class(event["id"], "Seats", quantity_total=100)
    async with browsers(1) as (browser,):
        page = await browser.get(f"{urls[0]}/e/{event['id']}")
        body = form_body(csrf_tokens(page.text)[0], tc["id"], "twice@example.com", quantity=3)
        responses = await asyncio.gather(
            *(
                browser.post(f"{urls[i % len(urls)]}/e/{event['id']}/register", data=body)
                for i in range(6)
            )
        )
    assert [r.status_code for r in responses] == [303] * 6, [r.text[:300] for r in responses]
    assert len({r.headers["location"] for r in responses}) == 1
    async with cluster.inspect() as db:
        tickets = await db.fetchval("SELECT count(*) FROM tickets WHERE event_id = $1", event["id"])
        payments = await db.fetchval(
            "SELECT count(*) FROM payments WHERE event_id = $1", event["id"]
        )
    assert (tickets, payments) == (3, 1)
