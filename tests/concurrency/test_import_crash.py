"""kill -9 during a 5,000-row import (SPEC §10): re-sent with the same Idempotency-Key, it
finishes, and every row is created exactly once.

The import is sent to one server; once a good part of its rows is in the database, that
server's whole process group gets SIGKILL. It is restarted, and the same file is re-sent with
the same key (answered 409 while the dead request's lease runs out, then 200). The books must
then hold exactly one ticket per row, counters equal to rows, and a further re-send replays.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import pytest

from tests.concurrency.harness import Client, Cluster, book_problems

pytestmark = pytest.mark.slow

ROWS = 5_000
KILL_AT = 800  # tickets in the database before the kill


def test_kill_9_mid_import_then_resend_creates_each_row_once(cluster: Cluster) -> None:
    asyncio.run(_crash(cluster))


async def _crash(cluster: Cluster) -> None:
    victim = cluster.servers[0]
    run = uuid.uuid4().hex[:8]
    async with Client(cluster, disconnects_expected=True) as api:
        event = await api.make_event()
        klass = await api.make_class(event["id"], "Imported")
        body = "email,first_name,ticket_class_id\n" + "".join(
            f"row{n}-{run}@example.com,Guest {n},{klass['id']}\n" for n in range(ROWS)
        )
        path = f"/api/v1/events/{event['id']}/attendees/import"
        headers = {
            "X-API-KEY": cluster.key,
            "Content-Type": "text/csv",
            "Idempotency-Key": f"import-{run}",
        }

        async def send(route: int) -> httpx.Response:
            return await api.http.post(
                api.url(path, route), content=body.encode(), headers=headers, timeout=300
            )

        first = asyncio.ensure_future(send(0))
        async with cluster.inspect() as db:
            deadline = time.monotonic() + 120
            while True:
                count = await db.fetchval(
                    "SELECT count(*) FROM tickets WHERE event_id = $1", event["id"]
                )
                assert not first.done(), f"the import finished before the kill ({count} rows)"
                if count >= KILL_AT:
                    break
                assert time.monotonic() < deadline, f"only {count} rows after 120 s"
                await asyncio.sleep(0.02)
        victim.kill()
        with pytest.raises(httpx.TransportError):
            await first
        async with cluster.inspect() as db:
            at_kill = await db.fetchval(
                "SELECT count(*) FROM tickets WHERE event_id = $1", event["id"]
            )
        assert KILL_AT <= at_kill < ROWS, at_kill
        victim.start()
        victim.wait_ready()

        settled = None
        busy = 0
        deadline = time.monotonic() + 180
        while settled is None:
            assert time.monotonic() < deadline, "the re-sent import never settled"
            response = await send(busy)
            if response.status_code == 409:
                assert response.json()["code"] == "idempotent_request_in_progress"
                busy += 1
                await asyncio.sleep(1)
                continue
            settled = response
        assert settled.status_code == 200, settled.text
        result = settled.json()
        assert (result["rows"], result["created"], result["failed"]) == (ROWS, ROWS, 0)
        assert [r["row"] for r in result["results"]] == list(range(2, ROWS + 2))

        replay = await send(1)
        assert replay.status_code == 200
        assert replay.headers["Idempotent-Replay"] == "true"
        assert replay.content == settled.content

    async with cluster.inspect() as db:
        per_email = await db.fetch(
            "SELECT c.email, count(*) AS n FROM tickets t JOIN contacts c ON c.id = t.contact_id"
            " WHERE t.event_id = $1 GROUP BY c.email",
            event["id"],
        )
        assert len(per_email) == ROWS
        assert {row["n"] for row in per_email} == {1}
        payments = await db.fetchval(
            "SELECT count(*) FROM payments WHERE event_id = $1", event["id"]
        )
        assert payments == ROWS
        assert {r["payment_id"] for r in result["results"]} == {
            row["payment_id"]
            for row in await db.fetch(
                "SELECT payment_id FROM tickets WHERE event_id = $1", event["id"]
            )
        }
        assert book_problems(await db.event_books(event["id"])) == []
        assert await db.fetchval("SELECT count(*) FROM attendee_imports") == 0
