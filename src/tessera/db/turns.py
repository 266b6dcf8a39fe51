"""Units of work that crowd one row take turns in this process (PostgreSQL).

Every Create Attendee of a ticket class updates that class's row (and its event's), and
PostgreSQL lets one transaction at a time hold a row: the others wait on its lock, and each wait
costs the database a sleep, a wake-up and a re-check of the updated row. With every connection
of every process creating on one class (an on-sale rush: `make bench`'s hot class, two servers
with pools of four), that contention measured a third of PostgreSQL's CPU per create
(docs/performance.md, "Creates of one class take turns"). Units of a *crowded* row therefore run
one at a time in this process, in arrival order, so at most one per process waits on the row in
the database; units of other rows do not wait. The database still decides every seat: a turn
only orders, in Python, what would otherwise have queued on the row lock.

A row is crowded when this process started at least :data:`CROWDED` units of it within the last
:data:`WINDOW_SECONDS` (a rush: hundreds a second). Units of rows that merely meet now and then
(creates spread over many classes) run as they come: queueing them in Python measured a worse
p99 than letting the database order the few that collide.

SQLite needs no turns: its one connection per process already runs one unit at a time.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import AbstractAsyncContextManager, nullcontext

WINDOW_SECONDS = 0.1
CROWDED = 20  # units started within the window: 200 a second
MAX_ROWS = 4096  # rows whose recent starts are kept; the oldest is forgotten first
clock = time.perf_counter  # seconds; tests move it

# row → (its lock, the units holding or awaiting it); a row no unit holds or awaits is dropped
_TURNS: dict[str, tuple[asyncio.Lock, int]] = {}
# row → (when its current window began, units started in it, units started in the one before)
_STARTS: dict[str, tuple[float, int, int]] = {}


def _crowded(row: str) -> bool:
    """Count a unit of ``row`` starting now; whether the row is crowded."""
    now = clock()
    began, current, previous = _STARTS.pop(row, (now, 0, 0))
    if now - began >= WINDOW_SECONDS:  # a new window; the last one counts only if it was just now
        began, current, previous = now, 0, current if now - began < 2 * WINDOW_SECONDS else 0
    if len(_STARTS) >= MAX_ROWS:
        del _STARTS[next(iter(_STARTS))]
    _STARTS[row] = (began, current + 1, previous)
    return max(current + 1, previous) >= CROWDED


class _Turn:
    """The turn of one crowded row: entered when no other unit of the row runs here."""

    __slots__ = ("_lock", "_row")

    def __init__(self, row: str) -> None:
        self._row = row
        self._lock: asyncio.Lock | None = None

    async def __aenter__(self) -> None:
        lock, users = _TURNS.get(self._row) or (asyncio.Lock(), 0)
        _TURNS[self._row] = (lock, users + 1)
        self._lock = lock
        try:
            await lock.acquire()
        except BaseException:  # cancelled while waiting
            self._leave()
            raise

    async def __aexit__(self, *exc: object) -> None:
        assert self._lock is not None
        self._lock.release()
        self._leave()

    def _leave(self) -> None:
        lock, users = _TURNS[self._row]
        if users == 1:
            del _TURNS[self._row]
        else:
            _TURNS[self._row] = (lock, users - 1)


_AT_ONCE: AbstractAsyncContextManager[None] = nullcontext()


def turn(row: str | None) -> AbstractAsyncContextManager[None]:
    """``async with turn(row)``: run when no other unit of ``row`` in this process runs, if the
    row is crowded (or already has units waiting); at once otherwise, and for no row (None)."""
    if row is None or (not _crowded(row) and row not in _TURNS):
        return _AT_ONCE
    return _Turn(row)


def waiting(row: str) -> int:
    """How many units hold or await ``row``'s turn (for tests)."""
    entry = _TURNS.get(row)
    return 0 if entry is None else entry[1]


def forget() -> None:
    """Forget every row's recent starts (tests: each starts uncrowded)."""
    _STARTS.clear()
