"""The long-running worker loop: slots, wake-ups after commit, and a graceful stop."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tessera.db import Connection
from tessera.outbox import repository
from tessera.outbox.worker import Handler, Message, OutboxWorker, RetryPolicy
from tests.support import ApiClient, FakeClock


class Slow:
    """Delivers payloads; ``{"hang": s}`` takes ``s`` seconds."""

    def __init__(self) -> None:
        self.done: list[Any] = []

    async def deliver(self, message: Message) -> None:
        await asyncio.sleep(message.payload.get("hang", 0))
        self.done.append(message.payload)


def _enqueue(conn: Connection, payload: Any, now: int) -> Any:
    return repository.enqueue(conn, "org_x", "test", "topic", payload, now)


def _scenario(api: ApiClient, clock: FakeClock, body: Any) -> Any:
    slow = Slow()
    worker = OutboxWorker(
        api.app.state.db,  # type: ignore[attr-defined]
        {"test": Handler(slow.deliver, RetryPolicy(delays=[10], timeout=30))},
        clock=clock,
        max_in_flight=4,
        poll_seconds=30,  # nothing here may rely on the poll
    )
    return api.client.portal.call(body, worker, slow)  # type: ignore[union-attr]


def test_a_slow_delivery_holds_one_slot_and_a_commit_wakes_the_worker(
    api: ApiClient, clock: FakeClock
) -> None:
    async def body(worker: OutboxWorker, slow: Slow) -> dict[str, float]:
        db = worker.db
        from tessera.outbox.wake import BELL

        unsubscribe = BELL.subscribe(worker.wake)
        runner = asyncio.create_task(worker.run_forever())
        try:
            await asyncio.sleep(0.1)  # the first (empty) round is over; the poll is 30 s away
            await db.run(lambda conn: _enqueue(conn, {"n": 1, "hang": 1.5}, clock()))
            await asyncio.sleep(0.2)
            started = time.monotonic()
            await db.run(lambda conn: _enqueue(conn, {"n": 2}, clock()))  # rings after commit
            while {"n": 2} not in slow.done and time.monotonic() - started < 1.2:
                await asyncio.sleep(0.01)
            fast = time.monotonic() - started
            hanging = [p for p in slow.done if p["n"] == 1]
            worker.stop()
            stopping = time.monotonic()
            await runner
            return {"fast": fast, "hanging_done_early": len(hanging), "stop": stopping}
        finally:
            unsubscribe()

    result = _scenario(api, clock, body)
    assert result["hanging_done_early"] == 0
    assert result["fast"] < 1.0, result  # woken by its commit, not stuck behind the slow one


def test_stop_waits_for_deliveries_in_flight(api: ApiClient, clock: FakeClock) -> None:
    async def body(worker: OutboxWorker, slow: Slow) -> list[Any]:
        db = worker.db
        await db.run(lambda conn: _enqueue(conn, {"n": 1, "hang": 0.5}, clock()))
        runner = asyncio.create_task(worker.run_forever())
        await asyncio.sleep(0.1)  # claimed and in flight
        worker.stop()
        await runner
        rows = await db.run(lambda conn: conn.fetch("SELECT status, attempts FROM outbox"))
        return [slow.done, [(r["status"], r["attempts"]) for r in rows]]

    done, rows = _scenario(api, clock, body)
    assert done == [{"n": 1, "hang": 0.5}]
    assert rows == [("delivered", 1)]
