"""Imports racing other writers across real server processes (SPEC §10 with §3.3 and §2).

- An import and a stream of Create Attendee requests fill one class together: the class is
  never oversold, counters equal rows at every instant, and every row the import reports as
  created holds its seat.
- The same file sent twice at once with one Idempotency-Key, to two processes: one runs, the
  other is told it is in progress (or replays the finished answer); each row is created once.
"""

from __future__ import annotations

import asyncio
import uuid

import httpx

from tests.concurrency.harness import BookMonitor, Client, Cluster, book_problems, server_errors

CLASS_TOTAL = 300
IMPORT_ROWS = 250
CREATES = 150


async def _import(
    api: Client, cluster: Cluster, event_id: str, body: str, route: int, key: str | None = None
) -> httpx.Response:
    headers = {"X-API-KEY": cluster.key, "Content-Type": "text/csv"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return await api.http.post(
        api.url(f"/api/v1/events/{event_id}/attendees/import", route),
        content=body.encode(),
        headers=headers,
        timeout=300,
    )


def test_an_import_and_creates_share_a_class_without_overselling(cluster: Cluster) -> None:
    asyncio.run(_share(cluster))


async def _share(cluster: Cluster) -> None:
    run = uuid.uuid4().hex[:8]
    async with Client(cluster) as api:
        event = await api.make_event()
        klass = await api.make_class(event["id"], "Shared", quantity_total=CLASS_TOTAL)
        body = "email,ticket_class_id\n" + "".join(
            f"imp{n}-{run}@example.com,{klass['id']}\n" for n in range(IMPORT_ROWS)
        )
        async with BookMonitor(cluster, event["id"]) as monitor:
            creates = [
                api.create_attendees(
                    event["id"], klass["id"], f"api{n}-{run}@example.com", route=n + 1
                )
                for n in range(CREATES)
            ]
            imported, *answers = await asyncio.gather(
                _import(api, cluster, event["id"], body, 0), *creates
            )
        assert not server_errors([imported, *answers])
        assert imported.status_code == 200, imported.text
        result = imported.json()
        created_by_api = sum(1 for r in answers if r.status_code == 201)
        refused = [r for r in answers if r.status_code != 201]
        assert all(r.json()["code"] == "capacity_exceeded" for r in refused)
        failed = [r for r in result["results"] if r["status"] == "failed"]
        assert all(r["code"] == "capacity_exceeded" for r in failed)
        assert result["created"] + created_by_api == CLASS_TOTAL  # exactly full, not more
        assert monitor.problems == [] and monitor.snapshots > 1
    async with cluster.inspect() as db:
        assert book_problems(await db.event_books(event["id"])) == []
        imported_rows = await db.fetchval(
            "SELECT count(*) FROM tickets t JOIN contacts c ON c.id = t.contact_id"
            " WHERE t.event_id = $1 AND c.email LIKE 'imp%'",
            event["id"],
        )
        assert imported_rows == result["created"]


def test_one_key_sent_twice_at_once_runs_once(cluster: Cluster) -> None:
    asyncio.run(_twice(cluster))


async def _twice(cluster: Cluster) -> None:
    run = uuid.uuid4().hex[:8]
    async with Client(cluster) as api:
        event = await api.make_event()
        klass = await api.make_class(event["id"], "Twice")
        body = "email,ticket_class_id\n" + "".join(
            f"twice{n}-{run}@example.com,{klass['id']}\n" for n in range(400)
        )
        first, second = await asyncio.gather(
            _import(api, cluster, event["id"], body, 0, key=f"twice-{run}"),
            _import(api, cluster, event["id"], body, 1, key=f"twice-{run}"),
        )
        # the one that executed: a 200 that is no replay (either request may be it); two such
        # 200s still fail below, the other lacking Idempotent-Replay
        answers = sorted(
            [first, second], key=lambda r: (r.status_code, "Idempotent-Replay" in r.headers)
        )
        assert answers[0].status_code == 200, answers[0].text
        other = answers[1]
        if other.status_code == 409:
            assert other.json()["code"] == "idempotent_request_in_progress"
        else:  # it came after the first finished: a replay
            assert other.headers["Idempotent-Replay"] == "true"
            assert other.content == answers[0].content
        assert answers[0].json()["created"] == 400
    async with cluster.inspect() as db:
        per_email = await db.fetch(
            "SELECT count(*) AS n FROM tickets WHERE event_id = $1 GROUP BY contact_id",
            event["id"],
        )
        assert len(per_email) == 400 and {row["n"] for row in per_email} == {1}
