"""The outbox worker: delivers what committed transactions queued (emails, webhooks).

Each row is claimed in a short transaction, delivered outside any transaction, then marked
delivered or scheduled for a retry with exponential backoff and jitter. Rows are delivered
concurrently, each under its own timeout, so a slow recipient delays nobody else.

Delivery is at-least-once by construction: a worker that dies after a recipient accepted a
message but before recording it re-delivers after the lease. Emails carry a Message-ID and
webhooks a ``webhook-id`` derived from the row, so recipients can drop such a duplicate; the
.eml mail folder rewrites the same file name.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tessera.db import Database
from tessera.idempotency import store as idempotency_store
from tessera.kit import jsonutil
from tessera.kit.clock import Clock, system_clock
from tessera.metrics import record
from tessera.outbox import repository

log = logging.getLogger("tessera.worker")

SECOND = 1_000_000
# The poll finds what no wake-up announced: retries coming due, rows queued by another SQLite
# process or by a process that could not notify. Twice a second per process is no load.
POLL_SECONDS = 0.5
WAKE_GAP_SECONDS = 0.2
# On shutdown, deliveries in flight get this long to finish (inside tessera serve's 30 s).
STOP_GRACE_SECONDS = 8.0
# While the process is serving requests, delivery inside it runs at background priority: at most
# BUSY_IN_FLIGHT messages at once and one claim per BUSY_PAUSE_SECONDS, i.e. at most ~50 messages
# a second per process (≈ 15 % of a core for emails, whose composing and recording cost ~3 ms of
# CPU each), with slow recipients (SMTP, webhooks) still overlapping. A registration rush is then
# not slowed by its own confirmations (bench: public form 32 % → 66 % of the API's create rate);
# the backlog goes out at full speed as soon as requests pause.
BUSY_IN_FLIGHT = 4
BUSY_PAUSE_SECONDS = 0.02


class DeliveryError(Exception):
    """Delivery failed. ``permanent`` stops retrying (e.g. a webhook endpoint answered 410).

    ``retry_at`` (microseconds, the worker's clock) lets a handler that records its attempts
    choose the next one itself, so the time it recorded is the time the worker keeps.
    """

    def __init__(
        self, message: str, *, permanent: bool = False, retry_at: int | None = None
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_at = retry_at


@dataclass(frozen=True, slots=True)
class Message:
    id: int
    organization_id: str
    kind: str
    topic: str
    payload: Any
    attempt: int
    created_at: int


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Seconds to wait after attempt 1, 2, …; after the last, the row is marked failed."""

    delays: Sequence[float]
    timeout: float = 30.0

    def next_delay(self, attempt: int) -> float | None:
        if attempt > len(self.delays):
            return None
        base = self.delays[attempt - 1]
        return base * random.uniform(0.8, 1.2)  # jitter: retries of many rows don't align


Deliver = Callable[[Message], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Handler:
    deliver: Deliver
    policy: RetryPolicy


# Emails: 30 s, 2 min, 10 min, 30 min, then hourly for a day.
EMAIL_POLICY = RetryPolicy(delays=[30, 120, 600, 1800] + [3600] * 24, timeout=60)


class OutboxWorker:
    def __init__(
        self,
        db: Database,
        handlers: dict[str, Handler],
        *,
        clock: Clock = system_clock,
        batch_size: int = 20,
        max_in_flight: int = 64,
        lease_seconds: float = 300,
        poll_seconds: float = POLL_SECONDS,
        busy: Callable[[], bool] | None = None,
    ) -> None:
        self.db = db
        self.busy = busy  # whether the process is serving requests (None: never yields)
        self.handlers = handlers
        self.clock = clock
        self.batch_size = batch_size
        self.lease = int(lease_seconds * SECOND)
        self.max_in_flight = max_in_flight
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._last_purge = 0
        self._in_flight: set[asyncio.Task[None]] = set()
        self._stopping = False

    def wake(self) -> None:
        """Deliver soon: called after a commit that queued something."""
        self._wake.set()

    async def run_once(self) -> int:
        """Claim and deliver one batch of due rows; returns how many were attempted."""
        messages = await self._claim(self.batch_size)
        await asyncio.gather(*(self._deliver(message) for message in messages))
        return len(messages)

    async def _claim(self, limit: int) -> list[Message]:
        now = self.clock()
        rows = await self.db.run(
            lambda conn: repository.claim_due(conn, now, now + self.lease, limit)
        )
        return [
            Message(
                row["id"],
                row["organization_id"],
                row["kind"],
                row["topic"],
                jsonutil.loads(row["payload"]),
                row["attempts"],
                row["created_at"],
            )
            for row in rows
        ]

    async def drain(self, max_rounds: int = 100) -> int:
        """Deliver until nothing is due (tests and one-shot runs)."""
        total = 0
        for _ in range(max_rounds):
            done = await self.run_once()
            total += done
            if done == 0:
                break
        return total

    async def _deliver(self, message: Message) -> None:
        handler = self.handlers.get(message.kind)
        if handler is None:
            error = f"no handler for {message.kind}"
            record.delivery(message.kind, "failed")
            await self.db.run(lambda conn: repository.mark_failed(conn, message.id, error))
            return
        try:
            await asyncio.wait_for(handler.deliver(message), handler.policy.timeout)
        except Exception as exc:  # any failure of one message is recorded, never fatal
            permanent = isinstance(exc, DeliveryError) and exc.permanent
            chosen = exc.retry_at if isinstance(exc, DeliveryError) else None
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            now = self.clock()
            if permanent:
                delay = None
            elif chosen is not None:
                delay = max(chosen - now, 0) / SECOND
            else:
                delay = handler.policy.next_delay(message.attempt)
            record.delivery(message.kind, "failed" if delay is None else "retried")
            if delay is None:
                log.warning("outbox %s (%s) failed for good: %s", message.id, message.topic, error)
                await self.db.run(lambda conn: repository.mark_failed(conn, message.id, error))
            else:
                at = chosen if chosen is not None else now + int(delay * SECOND)
                log.info(
                    "outbox %s (%s) attempt %s failed, retry in %.0fs: %s",
                    message.id,
                    message.topic,
                    message.attempt,
                    delay,
                    error,
                )
                await self.db.run(
                    lambda conn: repository.schedule_retry(conn, message.id, at, error)
                )
            return
        now = self.clock()
        await self.db.run(lambda conn: repository.mark_delivered(conn, message.id, now))
        record.delivery(message.kind, "delivered")

    async def _housekeeping(self) -> None:
        now = self.clock()
        if now - self._last_purge > 600 * SECOND:
            self._last_purge = now
            purged = await self.db.run(lambda conn: idempotency_store.purge_expired(conn, now))
            if purged:
                log.info("purged %s expired idempotency keys", purged)

    async def run_forever(self, poll_interval: float | None = None) -> None:
        """Deliver until :meth:`stop`: claim what is due whenever a delivery slot is free, so a
        slow recipient holds one slot, not the rows behind it; sleep until woken (a commit
        here or a ``NOTIFY``) or the poll comes round."""
        log.info("outbox worker started")
        poll = self.poll_seconds if poll_interval is None else poll_interval
        self._stopping = False
        last_empty = 0.0
        loop = asyncio.get_running_loop()
        while not self._stopping:
            if self.busy is not None and self.busy():
                await self._yield_to_requests()
                if self._stopping:
                    break
            free = self._free_slots()
            claimed = 0
            if free > 0:
                # Cleared before the claim: a ring from now on may be for a row the claim does
                # not see, and must bring the loop round again.
                self._wake.clear()
                try:
                    await self._housekeeping()
                    claimed = await self._claim_and_start(min(free, self.batch_size))
                except asyncio.CancelledError:
                    raise
                except Exception:  # the database may be briefly away: keep the worker alive
                    log.exception("outbox worker round failed; retrying")
            if claimed and claimed == min(free, self.batch_size):
                continue  # there may be more due right now
            if free > 0 and not claimed:
                # A wake-up that finds nothing: the next one waits a little, so a busy API whose
                # commits ring for nothing (no webhook endpoint subscribed) costs a few claims a
                # second, not one per commit.
                quiet = WAKE_GAP_SECONDS - (loop.time() - last_empty)
                last_empty = loop.time()
                if quiet > 0:
                    await asyncio.sleep(quiet)
            if self._stopping:
                break
            if free <= 0:  # every slot busy: the next claim waits for a free one
                await asyncio.wait(set(self._in_flight), return_when="FIRST_COMPLETED")
                continue
            woken = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait({woken}, timeout=poll)
            finally:
                woken.cancel()
        await self._finish_in_flight()

    def _free_slots(self) -> int:
        if self.busy is not None and self.busy():  # one message per pause, a few at once
            return min(1, min(BUSY_IN_FLIGHT, self.max_in_flight) - len(self._in_flight))
        return self.max_in_flight - len(self._in_flight)

    async def _yield_to_requests(self) -> None:
        """Background priority while requests are being served: a pause before each claim, and
        no claim while the few slots allowed are all busy."""
        await asyncio.sleep(BUSY_PAUSE_SECONDS)
        while len(self._in_flight) >= BUSY_IN_FLIGHT and not self._stopping:
            await asyncio.wait(set(self._in_flight), return_when="FIRST_COMPLETED")

    async def _claim_and_start(self, limit: int) -> int:
        messages = await self._claim(limit)
        for message in messages:
            task = asyncio.create_task(self._deliver_logged(message))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
        return len(messages)

    async def _deliver_logged(self, message: Message) -> None:
        try:
            await self._deliver(message)
        except Exception:  # recording the outcome failed (the database is away): the lease
            log.exception("outbox %s: could not record its delivery", message.id)  # retries it

    def stop(self) -> None:
        """Stop claiming; :meth:`run_forever` returns once deliveries in flight have finished
        (or :data:`STOP_GRACE_SECONDS` have passed: a delivery cut there is retried after its
        lease, at least once as always)."""
        self._stopping = True
        self._wake.set()

    async def _finish_in_flight(self) -> None:
        if not self._in_flight:
            return
        log.info("outbox worker stopping: %s deliveries in flight", len(self._in_flight))
        _done, pending = await asyncio.wait(set(self._in_flight), timeout=STOP_GRACE_SECONDS)
        for task in pending:
            task.cancel()
        if pending:
            log.warning("outbox worker stopped with %s deliveries cut", len(pending))
            await asyncio.wait(pending)
