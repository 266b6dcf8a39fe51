"""What ``GET /metrics`` answers: every process's recorded figures, summed by prometheus_client's
multiprocess collector, plus what only the database knows (the outbox), read at scrape time."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from tessera.config import Settings
from tessera.db import Database
from tessera.metrics import record

POOL_SAMPLE_SECONDS = 1.0

# Rows waiting for delivery, and since when. A row queued for later (a waitlist offer's expiry,
# due when the offer ends) is scheduled, not waiting: it counts from when it falls due, so a
# 48-hour offer neither inflates the depth nor trips an age alert. A row that failed and backs
# off is waiting since it was queued.
OUTBOX_SQL = (
    "SELECT kind, count(*) AS depth,"
    " min(CASE WHEN attempts = 0 THEN next_attempt_at ELSE created_at END) AS oldest"
    " FROM outbox WHERE status IN ('pending', 'sending')"
    " AND (attempts > 0 OR next_attempt_at <= $1) GROUP BY kind"
)


def sample_pool(db: Database) -> None:
    recorder = record.RECORDER
    if recorder is not None:
        size, in_use = db.pool_usage()
        recorder.pool_size.set(size)
        recorder.pool_in_use.set(in_use)


@contextlib.asynccontextmanager
async def running(settings: Settings, db: Database) -> AsyncIterator[None]:
    """While the app runs with metrics on: record, and sample this process's pool each second
    (the process answering a scrape cannot see the others' pools; their files can)."""
    if not settings.metrics:
        yield
        return
    record.enable()

    async def sampler() -> None:
        while True:
            sample_pool(db)
            await asyncio.sleep(POOL_SAMPLE_SECONDS)

    task = asyncio.create_task(sampler(), name="metrics-pool-sampler")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def render(settings: Settings, outbox: list[Any], now: int) -> bytes:
    """The text format: the recorded metrics (of all processes) and the outbox's gauges."""
    from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
    from prometheus_client.core import GaugeMetricFamily
    from prometheus_client.multiprocess import MultiProcessCollector

    if settings.metrics_dir is not None:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(settings.metrics_dir))  # type: ignore[no-untyped-call]
        recorded = generate_latest(registry)
    else:  # a process on its own without the directory (tests): its in-memory figures
        recorded = generate_latest(REGISTRY)
    depth = GaugeMetricFamily(
        "tessera_outbox_depth",
        "Outbox rows waiting for delivery (pending or being sent).",
        labels=["kind"],
    )
    age = GaugeMetricFamily(
        "tessera_outbox_oldest_age_seconds",
        "Age of the oldest outbox row waiting for delivery (0 when none waits).",
        labels=["kind"],
    )
    waiting = {row["kind"]: row for row in outbox}
    for kind in sorted({"email", "webhook", *waiting}):
        row = waiting.get(kind)
        depth.add_metric([kind], row["depth"] if row else 0)
        age.add_metric([kind], max(now - row["oldest"], 0) / 1e6 if row else 0.0)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Fixed([depth, age]))
    return recorded + generate_latest(registry)


class _Fixed:
    """A collector that yields the families it was given (read once, at scrape time)."""

    def __init__(self, families: list[Any]) -> None:
        self.families = families

    def collect(self) -> Any:
        return iter(self.families)
