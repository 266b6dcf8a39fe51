"""Units of work that contend for one row take turns in this process (PostgreSQL).

Every Create Attendee of a ticket class updates that class's row (and its event's), and
PostgreSQL lets one transaction at a time hold a row: the others wait on its lock, and each wait
costs the database a sleep, a wake-up and a re-check of the updated row. With every connection
of every process creating on one class (an on-sale rush: `make bench`'s hot class, two servers
with pools of four), that contention measured a third of PostgreSQL's CPU per create
(bench/README.md, "Creates of one class take turns"). Units naming the same row here run one at
a time in this process, in arrival order, so at most one per process waits on the row in the
database; units of other rows do not wait. The database still decides every seat: a turn only
orders, in Python, what would otherwise have queued on the row lock.

SQLite needs no turns: its one connection per process already runs one unit at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

# row → (its lock, the units holding or awaiting it); a row no unit holds or awaits is dropped,
# so the table is as large as the rows contended right now
_TURNS: dict[str, tuple[asyncio.Lock, int]] = {}


@asynccontextmanager
async def turn(row: str) -> AsyncIterator[None]:
    """Wait until no other unit of ``row`` in this process runs, then run."""
    lock, users = _TURNS.get(row) or (asyncio.Lock(), 0)
    _TURNS[row] = (lock, users + 1)
    try:
        async with lock:
            yield
    finally:
        lock, users = _TURNS[row]
        if users == 1:
            del _TURNS[row]
        else:
            _TURNS[row] = (lock, users - 1)


def waiting(row: str) -> int:
    """How many units hold or await ``row``'s turn (for tests and metrics)."""
    entry = _TURNS.get(row)
    return 0 if entry is None else entry[1]
