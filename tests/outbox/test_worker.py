"""The outbox worker's delivery mechanics, with real handler functions on both databases."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tessera.db import Connection
from tessera.outbox import repository
from tessera.outbox.worker import DeliveryError, Handler, Message, OutboxWorker, RetryPolicy
from tests.support import ApiClient, FakeClock


class Recorder:
    """A delivery target that fails on demand and remembers what it received."""

    def __init__(self) -> None:
        self.received: list[Any] = []
        self.failures_left = 0
        self.permanent = False
        self.delay = 0.0

    async def deliver(self, message: Message) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.failures_left:
            self.failures_left -= 1
            raise DeliveryError("receiver down", permanent=self.permanent)
        self.received.append(message.payload)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def worker(api: ApiClient, clock: FakeClock, recorder: Recorder) -> OutboxWorker:
    policy = RetryPolicy(delays=[10, 60, 300], timeout=0.5)
    return OutboxWorker(api.app.state.db, {"test": Handler(recorder.deliver, policy)}, clock=clock)  # type: ignore[attr-defined]


def enqueue(api: ApiClient, payload: Any, ordering_key: str | None = None) -> None:
    async def work(conn: Connection) -> None:
        await repository.enqueue(
            conn, "org_x", "test", "topic", payload, api.now(), ordering_key=ordering_key
        )

    api.run(work)


def drain(api: ApiClient, worker: OutboxWorker) -> int:
    result: int = api.client.portal.call(worker.drain)  # type: ignore[union-attr]
    return result


def status_of(api: ApiClient) -> list[tuple[str, int]]:
    async def work(conn: Connection) -> list[tuple[str, int]]:
        rows = await conn.fetch("SELECT status, attempts FROM outbox ORDER BY id")
        return [(r["status"], r["attempts"]) for r in rows]

    result: list[tuple[str, int]] = api.run(work)
    return result


def test_delivers_once_and_marks_delivered(
    api: ApiClient, worker: OutboxWorker, recorder: Recorder
) -> None:
    enqueue(api, {"n": 1})
    enqueue(api, {"n": 2})
    assert drain(api, worker) == 2
    assert recorder.received == [{"n": 1}, {"n": 2}]
    assert status_of(api) == [("delivered", 1), ("delivered", 1)]
    assert drain(api, worker) == 0
    assert len(recorder.received) == 2


def test_failure_is_retried_with_backoff(
    api: ApiClient, worker: OutboxWorker, recorder: Recorder, clock: FakeClock
) -> None:
    recorder.failures_left = 2
    enqueue(api, {"n": 1})
    drain(api, worker)
    assert status_of(api) == [("pending", 1)]
    drain(api, worker)  # not due yet: nothing happens
    assert status_of(api) == [("pending", 1)]
    clock.advance(seconds=13)  # first delay 10 s ± 20 %
    drain(api, worker)
    assert status_of(api) == [("pending", 2)]
    clock.advance(seconds=30)
    drain(api, worker)
    assert status_of(api) == [("pending", 2)]  # second delay is 60 s ± 20 %
    clock.advance(seconds=45)
    drain(api, worker)
    assert status_of(api) == [("delivered", 3)]
    assert recorder.received == [{"n": 1}]


def test_gives_up_after_the_last_delay(
    api: ApiClient, worker: OutboxWorker, recorder: Recorder, clock: FakeClock
) -> None:
    recorder.failures_left = 100
    enqueue(api, {"n": 1})
    for _ in range(6):
        drain(api, worker)
        clock.advance(seconds=400)
    assert status_of(api) == [("failed", 4)]


def test_permanent_failure_stops_at_once(
    api: ApiClient, worker: OutboxWorker, recorder: Recorder
) -> None:
    recorder.failures_left = 1
    recorder.permanent = True
    enqueue(api, {"n": 1})
    drain(api, worker)
    assert status_of(api) == [("failed", 1)]


def test_timeout_counts_as_failure(
    api: ApiClient, worker: OutboxWorker, recorder: Recorder
) -> None:
    recorder.delay = 2.0  # the policy's timeout is 0.5 s
    enqueue(api, {"n": 1})
    drain(api, worker)
    assert status_of(api) == [("pending", 1)]
    assert recorder.received == []


def test_ordering_key_holds_later_rows_behind_a_failed_one(
    api: ApiClient, worker: OutboxWorker, recorder: Recorder, clock: FakeClock
) -> None:
    recorder.failures_left = 1
    enqueue(api, {"n": 1}, ordering_key="endpoint-a/tkt_1")
    enqueue(api, {"n": 2}, ordering_key="endpoint-a/tkt_1")
    enqueue(api, {"n": 3}, ordering_key="endpoint-a/tkt_2")
    drain(api, worker)
    assert recorder.received == [{"n": 3}]  # 2 waits for 1, which failed
    clock.advance(seconds=15)
    drain(api, worker)
    assert recorder.received == [{"n": 3}, {"n": 1}, {"n": 2}]


def test_a_crashed_delivery_is_reclaimed_after_its_lease(
    api: ApiClient, worker: OutboxWorker, recorder: Recorder, clock: FakeClock
) -> None:
    enqueue(api, {"n": 1})

    async def claim(conn: Connection) -> Any:  # a worker that claims and then dies
        now = api.now()
        return await repository.claim_due(conn, now, now + 300 * 1_000_000, 10)

    assert len(api.run(claim)) == 1
    drain(api, worker)
    assert recorder.received == []  # leased to the dead worker
    clock.advance(seconds=301)
    drain(api, worker)
    assert recorder.received == [{"n": 1}]
    assert status_of(api) == [("delivered", 2)]
