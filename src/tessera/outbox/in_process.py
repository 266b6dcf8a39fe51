"""Running outbox delivery beside something else (a server process, ``tessera worker``).

:func:`delivering` is the one place that wires a worker to its wake-ups (tessera.outbox.wake)
and stops it gracefully: it stops claiming, lets deliveries in flight finish, then returns.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from tessera.outbox.wake import BELL, PgWakeups
from tessera.outbox.worker import OutboxWorker


@contextlib.asynccontextmanager
async def delivering(
    worker: OutboxWorker, database_url: str, *, deliver: bool
) -> AsyncIterator[None]:
    """While inside: ``worker`` delivers (if ``deliver``), woken by this process's commits and,
    on PostgreSQL, by other processes' ``NOTIFY``. Without ``deliver`` this process only passes
    its commits on to the processes that deliver (PostgreSQL; SQLite workers poll)."""
    postgres = not database_url.startswith("sqlite:")
    wakeups = None
    if postgres:
        wakeups = PgWakeups(
            database_url, on_notify=worker.wake if deliver else None, notify=not deliver
        )
        wakeups.start()
    if not deliver:
        try:
            yield
        finally:
            if wakeups is not None:
                await wakeups.stop()
        return
    unsubscribe = BELL.subscribe(worker.wake)
    task = asyncio.create_task(worker.run_forever(), name="outbox-worker")
    try:
        yield
    finally:
        unsubscribe()
        worker.stop()
        try:
            await task
        finally:
            if wakeups is not None:
                await wakeups.stop()
