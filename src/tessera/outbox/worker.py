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
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tessera.db import Database
from tessera.idempotency import store as idempotency_store
from tessera.kit import jsonutil
from tessera.kit.clock import Clock, system_clock
from tessera.outbox import repository

log = logging.getLogger("tessera.worker")

SECOND = 1_000_000


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
        lease_seconds: float = 300,
    ) -> None:
        self.db = db
        self.handlers = handlers
        self.clock = clock
        self.batch_size = batch_size
        self.lease = int(lease_seconds * SECOND)
        self._wake = asyncio.Event()
        self._last_purge = 0

    def wake(self) -> None:
        """Deliver soon: called after a commit that queued something."""
        self._wake.set()

    async def run_once(self) -> int:
        """Claim and deliver one batch of due rows; returns how many were attempted."""
        now = self.clock()
        rows = await self.db.run(
            lambda conn: repository.claim_due(conn, now, now + self.lease, self.batch_size)
        )
        messages = [
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
        await asyncio.gather(*(self._deliver(message) for message in messages))
        return len(messages)

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

    async def _housekeeping(self) -> None:
        now = self.clock()
        if now - self._last_purge > 600 * SECOND:
            self._last_purge = now
            purged = await self.db.run(lambda conn: idempotency_store.purge_expired(conn, now))
            if purged:
                log.info("purged %s expired idempotency keys", purged)

    async def run_forever(self, poll_interval: float = 0.5) -> None:
        log.info("outbox worker started")
        while True:
            try:
                await self._housekeeping()
                busy = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may be briefly away: keep the worker alive
                log.exception("outbox worker round failed; retrying")
                busy = 0
            if busy:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), poll_interval)
