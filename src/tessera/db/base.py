"""The interface every database adapter implements, and what they share: the connection and
database protocols, the errors a unit of work raises, and the statement counter.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

from tessera.errors import ServiceUnavailable

log = logging.getLogger("tessera.db")

T = TypeVar("T")
Row = Any  # sqlite3.Row or asyncpg.Record: both index by column name


class Connection(Protocol):
    dialect: str

    async def fetch(self, sql: str, *args: Any) -> list[Row]: ...
    async def fetchrow(self, sql: str, *args: Any) -> Row | None: ...
    async def fetchval(self, sql: str, *args: Any) -> Any: ...
    async def execute(self, sql: str, *args: Any) -> int: ...
    async def executemany(self, sql: str, args: Sequence[Sequence[Any]]) -> None: ...
    async def defer(self, sql: str, *args: Any) -> None:
        """A write whose result nobody needs and whose rows nothing reads later in the
        transaction. PostgreSQL sends it with the connection's next statement (or before
        ``COMMIT``), as part of that one statement: a round trip saved. Its errors surface
        there. SQLite, with no round trips to save, runs it at once."""

    async def flush(self) -> None:
        """Send whatever is deferred now (a transaction does before it commits)."""

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the unit of work has committed; never if it rolls back (a
        retried attempt's callbacks go with it). For signals about committed data, such as
        waking the outbox worker: it runs on the event loop, so it must be quick."""


class OneStatement(Connection, Protocol):
    """The connection of a unit of work sent as one statement (PostgreSQL only).

    Reads (``fetch``, ``fetchrow``, ``fetchval``) run at once, each on its own, and see the
    database as it is before the unit's statement: nothing queued is visible to them. Writes
    only queue: ``defer`` for a write whose outcome nothing depends on, ``expect`` for a part
    whose outcome the unit relied on. ``execute`` is refused.
    """

    async def expect(self, rows: int, sql: str, *args: Any) -> None:
        """A part of the statement (a write with ``RETURNING``, or a ``SELECT``) that must return
        exactly ``rows`` rows when the statement runs, or nothing is written and the unit is
        :class:`Stale`. Parts are checked in the order they were queued."""


class Stale(Exception):
    """A unit of work sent as one statement did not hold (an expectation failed, a constraint or
    a lock refused it), or declined to run that way; nothing was written. Run it as a transaction
    instead: that path decides every case."""


class IntegrityViolation(Exception):
    """A unique or foreign-key constraint refused a write; services map it to a 409."""


class StatementCounter:
    """Counts statements sent, so the benchmark can report statements per request.

    While ``recording`` is a list, statements are also kept there as (SQL as sent, arguments,
    whether a transaction was open): the benchmark replays a Create Attendee's statements
    without HTTP to measure the database's own share of a request (bench/floor.py).
    """

    def __init__(self) -> None:
        self.count = 0
        self.recording: list[tuple[str, tuple[Any, ...], bool]] | None = None

    def sent(self, sql: str, args: tuple[Any, ...], in_transaction: bool) -> None:
        self.count += 1
        if self.recording is not None:
            self.recording.append((sql, args, in_transaction))


STATEMENTS = StatementCounter()

PLACEHOLDER = re.compile(r"\$(\d+)")


class Database(Protocol):
    dialect: str
    #: whether :meth:`run_as_one_statement` is available (PostgreSQL)
    one_statement_units: bool

    async def connect(self) -> None: ...
    async def close(self) -> None: ...
    def transaction(self) -> Any: ...
    def reader(self) -> Any: ...
    async def run(self, work: Callable[[Connection], Awaitable[T]]) -> T: ...
    async def run_as_one_statement(self, work: Callable[[OneStatement], Awaitable[T]]) -> T: ...
    def pool_usage(self) -> tuple[int, int]:
        """(connections open, connections in use) in this process."""


def run_after_commit(callbacks: list[Callable[[], None]]) -> None:
    """A failing callback is logged: the unit of work has committed and must answer as such."""
    for callback in callbacks:
        try:
            callback()
        except Exception:
            log.exception("an after-commit callback failed")


class Retry(Exception):
    """Raised inside a transaction when the database asks the unit of work to start over."""


RETRY_ATTEMPTS = 5


async def run_with_retries(
    db: Database, work: Callable[[Connection], Awaitable[T]], attempts: int = RETRY_ATTEMPTS
) -> T:
    for attempt in range(attempts):
        try:
            async with db.transaction() as conn:
                return await work(conn)
        except Retry:
            if attempt == attempts - 1:
                raise ServiceUnavailable(
                    "The database is busy. Retry shortly.", headers={"Retry-After": "1"}
                ) from None
            await asyncio.sleep(0.005 * (attempt + 1))
    raise AssertionError("unreachable")
