"""SPEC §11: every server process and a separate `tessera worker` deliver from one outbox, and
each row is delivered exactly once, under load.

PostgreSQL: two `tessera serve` processes and a `tessera worker`. SQLite: `tessera serve
--workers 2` and a `tessera worker`. Creates with ``send_email`` and a subscribed webhook
endpoint spread over the servers; every process delivers (the default). A row delivered twice
shows as a second attempt, as a second ``webhook-id`` at the receiver, or as an email count
that does not match.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter

import pytest

from tests.concurrency.harness import Client, Cluster
from tests.serve.conftest import Launch, start_worker
from tests.webhook.receiver import Receiver

pytestmark = pytest.mark.slow

CREATES = 240
CONCURRENCY = 16
SETTLE_SECONDS = 30.0


def test_servers_and_a_worker_deliver_each_row_once(launch: Launch, kind: str) -> None:
    processes = [1, 1] if kind == "postgresql" else [2]
    cluster = launch(processes=processes, webhook_allow_private="true")
    worker = start_worker(cluster)
    receiver = Receiver()
    try:
        asyncio.run(_load_and_check(cluster, receiver))
        assert worker.poll() is None, (cluster.workdir / "worker.log").read_text()[-3000:]
    finally:
        worker.kill()
        worker.wait()
        receiver.close()


async def _load_and_check(cluster: Cluster, receiver: Receiver) -> None:
    run = uuid.uuid4().hex[:8]
    async with Client(cluster) as api:
        created = await api.request(
            "POST",
            "/api/v1/webhook-endpoints",
            json={"url": receiver.url, "events": ["attendee.created"]},
        )
        assert created.status_code == 201, created.text
        event = await api.make_event()
        tc = await api.make_class(event["id"], "General", quantity_total=100_000)
        gate = asyncio.Semaphore(CONCURRENCY)

        async def create(i: int) -> int:
            async with gate:
                response = await api.request(
                    "POST",
                    f"/api/v1/events/{event['id']}/attendees",
                    route=i,
                    json={
                        "ticket_class_id": tc["id"],
                        "contact": {"email": f"once-{run}-{i}@example.com", "first_name": "O"},
                        "quantity": 1 + i % 2,
                        "send_email": True,
                    },
                )
                assert response.status_code == 201, response.text
                return int(response.json()["quantity"])

        tickets = sum(await asyncio.gather(*(create(i) for i in range(CREATES))))

    deadline = time.monotonic() + SETTLE_SECONDS
    async with cluster.inspect() as db:
        while True:
            rows = await db.fetch(
                "SELECT id, kind, status, attempts FROM outbox WHERE organization_id = $1",
                cluster.org_id,
            )
            if all(row["status"] == "delivered" for row in rows) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
    statuses = Counter(row["status"] for row in rows)
    assert statuses == {"delivered": CREATES + tickets}, statuses  # one email a request
    twice = [row for row in rows if row["attempts"] != 1]
    assert not twice, f"{len(twice)} rows claimed more than once, e.g. {twice[:3]}"
    assert len(list((cluster.workdir / "mail").glob("*.eml"))) == CREATES
    webhook_ids = Counter(r.headers["webhook-id"] for r in receiver.received)
    assert len(webhook_ids) == tickets, (len(webhook_ids), tickets)
    assert max(webhook_ids.values()) == 1, webhook_ids.most_common(3)
