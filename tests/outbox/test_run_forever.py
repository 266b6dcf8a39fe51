"""The long-running worker loop: slots, wake-ups after commit, and a graceful stop."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tessera.db import Connection
from tessera.outbox import repository
from tessera.outbox.worker import (
    BUSY_IN_FLIGHT,
    BUSY_PAUSE_SECONDS,
    Handler,
    Message,
    OutboxWorker,
    RetryPolicy,
)
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


class Counting:
    """Delivers after a short wait and remembers the most deliveries it had at once."""

    def __init__(self) -> None:
        self.done: list[Any] = []
        self.now = 0
        self.most = 0

    async def deliver(self, message: Message) -> None:
        self.now += 1
        self.most = max(self.most, self.now)
        await asyncio.sleep(0.02)
        self.now -= 1
        self.done.append(message.payload)


def _counted_run(api: ApiClient, clock: FakeClock, busy: bool) -> tuple[int, int]:
    counting = Counting()
    worker = OutboxWorker(
        api.app.state.db,  # type: ignore[attr-defined]
        {"test": Handler(counting.deliver, RetryPolicy(delays=[10], timeout=30))},
        clock=clock,
        max_in_flight=8,
        poll_seconds=0.05,
        busy=lambda: busy,
    )

    async def body() -> tuple[int, int]:
        for n in range(12):
            await worker.db.run(lambda conn, n=n: _enqueue(conn, {"n": n}, clock()))
        runner = asyncio.create_task(worker.run_forever())
        deadline = time.monotonic() + 10
        while len(counting.done) < 12 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        worker.stop()
        await runner
        return len(counting.done), counting.most

    return api.client.portal.call(body)  # type: ignore[union-attr,no-any-return]


def test_delivery_steps_aside_while_the_process_serves_requests(
    api: ApiClient, clock: FakeClock
) -> None:
    """In a server process, delivery is background work: while requests are being served it
    takes one message per pause and keeps a few in flight at most (a rush is not slowed by its
    own emails), and it still delivers everything; with no requests it uses all its slots."""
    started = time.monotonic()
    delivered, most = _counted_run(api, clock, busy=True)
    assert delivered == 12
    assert most <= BUSY_IN_FLIGHT
    assert time.monotonic() - started >= 12 * BUSY_PAUSE_SECONDS  # one claim per pause
    delivered, most = _counted_run(api, clock, busy=False)
    assert delivered == 12
    assert most > 1
