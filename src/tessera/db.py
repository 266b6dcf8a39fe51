"""Database access: one small interface over SQLite (stdlib ``sqlite3``) and PostgreSQL (asyncpg).

Why not the ORM: a Create Attendee is a handful of statements, and PERFORMANCE.md measured the
ORM unit of work at ~510 tx/s against a 2,500 req/s goal. SQL is written once with ``$1``
placeholders (asyncpg's style); the SQLite adapter rewrites them to ``?1``.

The single commit point is :meth:`Database.run`: it opens a transaction, runs one unit of work,
commits, and retries the whole unit when the database reports a transient conflict. Services take
the connection as a parameter and never commit. A write that nothing reads back in its
transaction may be deferred (:meth:`Connection.defer`): on PostgreSQL it rides inside the
transaction's next statement, a round trip saved.

On PostgreSQL a unit of work whose reads can all come first may also run as **one statement**
(:meth:`PostgresDatabase.run_as_one_statement`): its reads run at once, outside any transaction,
and everything it writes travels in one statement that PostgreSQL commits on its own. Every write
whose effect the unit relied on is an *expectation* (:meth:`OneStatement.expect`): a part that
must return exactly so many rows, checked inside that statement, so the statement commits only
if the database still is as the reads saw it. Otherwise it raises :class:`Stale` and writes
nothing, and the caller runs its transaction instead. No ``BEGIN``, no ``COMMIT``: round trips,
and the time a contended row stays locked, are the statement's own.

SQLite: one connection per process, used directly on the event loop. A transaction never awaits
anything real, so no other coroutine runs inside it; an ``asyncio.Lock`` guards the connection
anyway, so a future slip cannot interleave two transactions. ``BEGIN IMMEDIATE`` takes the write
lock up front, which serializes writers across processes without deadlock-prone lock upgrades.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any, Protocol, TypeVar

import asyncpg

from tessera.errors import ServiceUnavailable
from tessera.sqlite_checkpoint import Checkpointer

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

_PLACEHOLDER = re.compile(r"\$(\d+)")


@lru_cache(maxsize=1024)
def _to_sqlite(sql: str) -> str:
    return _PLACEHOLDER.sub(r"?\1", sql)


class _SqliteConnection:
    dialect = "sqlite"

    def __init__(self, raw: sqlite3.Connection) -> None:
        self._raw = raw

    def _run(self, sql: str, args: tuple[Any, ...]) -> sqlite3.Cursor:
        STATEMENTS.sent(sql, args, self._raw.in_transaction)
        try:
            return self._raw.execute(_to_sqlite(sql), args)
        except sqlite3.IntegrityError as exc:
            raise IntegrityViolation(str(exc)) from exc

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return self._run(sql, args).fetchall()

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        row: Row | None = self._run(sql, args).fetchone()
        return row

    async def fetchval(self, sql: str, *args: Any) -> Any:
        row = await self.fetchrow(sql, *args)
        return None if row is None else row[0]

    async def execute(self, sql: str, *args: Any) -> int:
        return self._run(sql, args).rowcount

    async def executemany(self, sql: str, args: Sequence[Sequence[Any]]) -> None:
        STATEMENTS.count += 1
        try:
            self._raw.executemany(_to_sqlite(sql), args)
        except sqlite3.IntegrityError as exc:
            raise IntegrityViolation(str(exc)) from exc

    async def defer(self, sql: str, *args: Any) -> None:
        self._run(sql, args)

    async def flush(self) -> None:
        pass  # nothing is ever deferred


def _shifted(sql: str, offset: int) -> str:
    return _PLACEHOLDER.sub(lambda m: f"${int(m.group(1)) + offset}", sql)


@lru_cache(maxsize=256)
def _combined_sql(deferred: tuple[tuple[str, int], ...], final: str) -> str:
    """One statement: each deferred write as a data-modifying ``WITH`` item (PostgreSQL runs
    every one of them to completion, read or not), then ``final``, its placeholders shifted
    past theirs. All parts see one snapshot, so ``final`` does not see the deferred rows;
    constraints (foreign keys among them too) are checked when the statement ends."""
    items, offset = [], 0
    for number, (sql, count) in enumerate(deferred):
        items.append(f"_deferred{number} AS ({_shifted(sql, offset)})")
        offset += count
    final = _shifted(final, offset).lstrip()
    if final[:5].upper() == "WITH ":
        return f"WITH {', '.join(items)}, {final[5:]}"
    return f"WITH {', '.join(items)} {final}"


class _PgConnection:
    dialect = "postgresql"

    def __init__(self, raw: asyncpg.Connection) -> None:
        self._raw = raw
        self._deferred: list[tuple[str, tuple[Any, ...]]] = []

    async def defer(self, sql: str, *args: Any) -> None:
        self._deferred.append((sql, args))

    def _with_deferred(self, sql: str, args: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
        if not self._deferred:
            return sql, args
        deferred, self._deferred = self._deferred, []
        shapes = tuple((text, len(values)) for text, values in deferred)
        values = tuple(value for _, earlier in deferred for value in earlier)
        return _combined_sql(shapes, sql), values + args

    async def flush(self) -> None:
        if self._deferred:
            sql, args = self._deferred.pop()
            await self.execute(sql, *args)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        sql, args = self._with_deferred(sql, args)
        STATEMENTS.sent(sql, args, self._raw.is_in_transaction())
        try:
            return list(await self._raw.fetch(sql, *args))
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityViolation(str(exc)) from exc

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        sql, args = self._with_deferred(sql, args)
        STATEMENTS.sent(sql, args, self._raw.is_in_transaction())
        try:
            return await self._raw.fetchrow(sql, *args)
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityViolation(str(exc)) from exc

    async def fetchval(self, sql: str, *args: Any) -> Any:
        row = await self.fetchrow(sql, *args)
        return None if row is None else row[0]

    async def execute(self, sql: str, *args: Any) -> int:
        sql, args = self._with_deferred(sql, args)
        STATEMENTS.sent(sql, args, self._raw.is_in_transaction())
        try:
            status: str = await self._raw.execute(sql, *args)
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityViolation(str(exc)) from exc
        tail = status.rsplit(" ", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    async def executemany(self, sql: str, args: Sequence[Sequence[Any]]) -> None:
        await self.flush()
        STATEMENTS.count += 1
        try:
            await self._raw.executemany(sql, args)
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityViolation(str(exc)) from exc


# Raised by tessera_unexpected(), the function the one statement calls when an expectation fails
# (migration 0006).
_UNEXPECTED_SQLSTATE = "TS001"
_STALE_STATES = {"40001", "40P01", _UNEXPECTED_SQLSTATE}  # and every integrity violation


@lru_cache(maxsize=256)
def _one_statement_sql(parts: tuple[tuple[str, int, int | None], ...]) -> str:
    """Every part as a ``WITH`` item; the main query checks the expected ones in order (a
    ``CASE`` evaluates its branches in order, and each scalar subquery runs its part when first
    read). Parts nobody reads, the plain deferred writes, run to completion after the checks."""
    items, checks, offset = [], [], 0
    for number, (sql, count, rows) in enumerate(parts):
        items.append(f"_part{number} AS ({_shifted(sql, offset)})")
        offset += count
        if rows is not None:
            checks.append(
                f" WHEN (SELECT count(*) FROM _part{number}) <> {rows}"
                f" THEN tessera_unexpected({number})"
            )
    return f"WITH {', '.join(items)} SELECT CASE{''.join(checks)} ELSE true END"


class _PgOneStatement(_PgConnection):
    def __init__(self, raw: asyncpg.Connection) -> None:
        super().__init__(raw)
        self._parts: list[tuple[str, tuple[Any, ...], int | None]] = []

    def _with_deferred(self, sql: str, args: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
        return sql, args  # reads travel alone: what is queued goes out in the one statement

    async def defer(self, sql: str, *args: Any) -> None:
        self._parts.append((sql, args, None))

    async def expect(self, rows: int, sql: str, *args: Any) -> None:
        self._parts.append((sql, args, rows))

    async def flush(self) -> None:
        raise RuntimeError("a unit of work sent as one statement sends its writes only at the end")

    async def execute(self, sql: str, *args: Any) -> int:
        raise RuntimeError("a unit of work sent as one statement writes through defer or expect")

    async def executemany(self, sql: str, args: Sequence[Sequence[Any]]) -> None:
        raise RuntimeError("a unit of work sent as one statement writes through defer or expect")

    async def send(self) -> None:
        if not self._parts:
            return
        shapes = tuple((sql, len(args), rows) for sql, args, rows in self._parts)
        values = tuple(value for _, args, _ in self._parts for value in args)
        self._parts = []
        sql = _one_statement_sql(shapes)
        STATEMENTS.sent(sql, values, False)
        try:
            await self._raw.fetchval(sql, *values)
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise Stale(str(exc)) from exc
        except asyncpg.PostgresError as exc:
            if getattr(exc, "sqlstate", None) in _STALE_STATES:
                raise Stale(str(exc)) from exc
            raise


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


class Retry(Exception):
    """Raised inside a transaction when the database asks the unit of work to start over."""


async def _run_with_retries(
    db: Database, work: Callable[[Connection], Awaitable[T]], attempts: int = 5
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


class SqliteDatabase:
    dialect = "sqlite"
    # A transaction costs no round trips here, and writers are serialized anyway.
    one_statement_units = False

    def __init__(self, path: str) -> None:
        self.path = path
        self._raw: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()
        self._checkpointer: Checkpointer | None = None

    async def connect(self) -> None:
        self._raw = open_sqlite(self.path)
        self._checkpointer = Checkpointer(self.path)
        self._checkpointer.start()

    async def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        if self._raw is not None:
            self._raw.close()
            self._raw = None

    def _connection(self) -> sqlite3.Connection:
        if self._raw is None:
            raise ServiceUnavailable()
        return self._raw

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        async with self._lock:
            raw = self._connection()
            try:
                raw.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise _sqlite_unavailable(exc) from exc
            try:
                yield _SqliteConnection(raw)
            except BaseException:
                raw.execute("ROLLBACK")
                raise
            try:
                raw.execute("COMMIT")
            except sqlite3.Error as exc:
                if raw.in_transaction:
                    raw.execute("ROLLBACK")
                raise _sqlite_unavailable(exc) from exc

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Connection]:
        async with self._lock:
            yield _SqliteConnection(self._connection())

    async def run(self, work: Callable[[Connection], Awaitable[T]]) -> T:
        try:
            return await _run_with_retries(self, work)
        except sqlite3.Error as exc:
            raise _sqlite_unavailable(exc) from exc

    async def run_as_one_statement(self, work: Callable[[OneStatement], Awaitable[T]]) -> T:
        raise Stale("SQLite runs every unit of work as a transaction")


BACKSTOP_CHECKPOINT_PAGES = 16_000


def open_sqlite(path: str) -> sqlite3.Connection:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves. The 30 s busy timeout means a writer
    # waiting behind another process's transaction waits rather than failing "database is locked".
    raw = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    raw.row_factory = sqlite3.Row
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=NORMAL")
    raw.execute("PRAGMA foreign_keys=ON")
    raw.execute("PRAGMA busy_timeout=30000")
    # Checkpoints run in a background thread (tessera.sqlite_checkpoint); this connection's own
    # checkpoint is the backstop that lets the log restart, at 16,000 pages (64 MiB): measured
    # against 4,000, half as many commits stalled on it.
    raw.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_CHECKPOINT_PAGES}")
    # SQLite's built-in lower() folds ASCII only; searches must find "Émile" from "émile".
    raw.create_function("lower", 1, _unicode_lower, deterministic=True)
    return raw


def _unicode_lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _sqlite_unavailable(exc: sqlite3.Error) -> ServiceUnavailable:
    log.error("sqlite error: %s", exc)
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return ServiceUnavailable(
            "The database is busy. Retry shortly.", headers={"Retry-After": "1"}
        )
    if "readonly" in text or "read-only" in text:
        return ServiceUnavailable("The database is read-only; nothing was written.")
    if "full" in text:
        return ServiceUnavailable("The database's disk is full; nothing was written.")
    if "disk" in text or "i/o" in text:
        return ServiceUnavailable("The database could not be written; nothing was written.")
    return ServiceUnavailable()


_PG_RETRY_STATES = {"40001", "40P01"}  # serialization failure, deadlock detected

# "The database cannot serve this request now": unreachable, restarting or shutting down (class
# 57: "the database system is shutting down", "terminating connection due to administrator
# command", "is starting up"), out of connections or disk (class 53), a connection that died
# mid-statement. All answered 503; tests/faults/ stops PostgreSQL under load to prove it.
_PG_UNAVAILABLE = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,  # a connection left mid-operation by a dead server
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,
    asyncpg.InsufficientResourcesError,
)


class PostgresDatabase:
    dialect = "postgresql"
    one_statement_units = True

    def __init__(self, dsn: str, pool_size: int = 4) -> None:
        self.dsn = dsn.replace("postgresql+asyncpg://", "postgresql://")
        self.pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._connecting = asyncio.Lock()

    async def connect(self) -> None:
        try:
            await self._ensure_pool()
        except ServiceUnavailable:
            # Start anyway: /readyz reports the database, and requests answer 503 until it is back.
            log.warning("PostgreSQL is not reachable yet; requests answer 503 until it is")

    async def _ensure_pool(self) -> asyncpg.Pool:
        if self._pool is not None:
            return self._pool
        async with self._connecting:
            if self._pool is None:
                try:
                    # A bounded connect timeout: an unreachable host answers 503 in seconds,
                    # not after the driver's default minute.
                    self._pool = await asyncpg.create_pool(
                        self.dsn,
                        min_size=1,
                        max_size=self.pool_size,
                        command_timeout=30,
                        timeout=5,
                        reset=_keep_session,
                        # A create sent as one statement has a shape per quantity, branch and
                        # number of webhook items; asyncpg's default 100 would re-prepare.
                        statement_cache_size=512,
                    )
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                    raise ServiceUnavailable() from exc
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        pool = await self._ensure_pool()
        try:
            async with pool.acquire() as raw, raw.transaction():
                conn = _PgConnection(raw)
                yield conn
                await conn.flush()
        except asyncpg.PostgresError as exc:
            if getattr(exc, "sqlstate", None) in _PG_RETRY_STATES:
                raise Retry() from exc
            if isinstance(exc, _PG_UNAVAILABLE):
                raise ServiceUnavailable() from exc
            raise
        except _PG_UNAVAILABLE as exc:
            raise ServiceUnavailable() from exc

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Connection]:
        pool = await self._ensure_pool()
        try:
            async with pool.acquire() as raw:
                yield _PgConnection(raw)
        except _PG_UNAVAILABLE as exc:
            raise ServiceUnavailable() from exc

    async def run(self, work: Callable[[Connection], Awaitable[T]]) -> T:
        return await _run_with_retries(self, work)

    async def run_as_one_statement(self, work: Callable[[OneStatement], Awaitable[T]]) -> T:
        """Run ``work``'s reads at once and send its writes as one statement, committed on its
        own; :class:`Stale` (nothing written) when an expectation fails. ``work`` may raise
        :class:`Stale` itself to decline."""
        pool = await self._ensure_pool()
        try:
            async with pool.acquire() as raw:
                conn = _PgOneStatement(raw)
                result = await work(conn)
                await conn.send()
                return result
        except _PG_UNAVAILABLE as exc:
            raise ServiceUnavailable() from exc
        except asyncpg.PostgresError as exc:
            # Not one of the ways a statement is expected to give way, yet PostgreSQL refused
            # it, so nothing of it committed: the transaction decides (and answers that error
            # itself if it is real). Logged, since it costs every such request a second try.
            log.warning(
                "a unit of work sent as one statement failed; running it as a transaction: %s", exc
            )
            raise Stale(str(exc)) from exc


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Nothing to reset when a connection goes back to the pool.

    asyncpg's default reset sends ``RESET ALL``, ``UNLISTEN *``, ``CLOSE ALL`` and an advisory
    unlock-all on every release: a round trip per request for state Tessera never creates (its
    only advisory locks are transaction-scoped; it sets, listens and declares nothing). The
    pool still rolls back a transaction left open before calling this.
    """


def create_database(url: str, pool_size: int = 4) -> Database:
    if url.startswith("sqlite:"):
        return SqliteDatabase(url.removeprefix("sqlite:///"))
    return PostgresDatabase(url, pool_size=pool_size)
