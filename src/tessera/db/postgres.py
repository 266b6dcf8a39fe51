"""PostgreSQL (asyncpg): a small pool per process; transactions, and units of work sent as one
statement."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import asyncpg

from tessera.db.base import (
    Connection,
    OneStatement,
    Retry,
    Stale,
    run_after_commit,
    run_with_retries,
)
from tessera.db.postgres_connection import PgConnection
from tessera.db.postgres_one_statement import PgOneStatement, gives_way
from tessera.errors import ServiceUnavailable

log = logging.getLogger("tessera.db")

T = TypeVar("T")


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
        committed = None
        try:
            async with pool.acquire() as raw, raw.transaction():
                conn = PgConnection(raw)
                yield conn
                await conn.flush()
                committed = conn.committed
        except asyncpg.PostgresError as exc:
            if getattr(exc, "sqlstate", None) in _PG_RETRY_STATES:
                raise Retry() from exc
            if isinstance(exc, _PG_UNAVAILABLE):
                raise ServiceUnavailable() from exc
            raise
        except _PG_UNAVAILABLE as exc:
            raise ServiceUnavailable() from exc
        if committed:
            run_after_commit(committed)

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Connection]:
        pool = await self._ensure_pool()
        try:
            async with pool.acquire() as raw:
                yield PgConnection(raw)
        except _PG_UNAVAILABLE as exc:
            raise ServiceUnavailable() from exc

    async def run(self, work: Callable[[Connection], Awaitable[T]]) -> T:
        return await run_with_retries(self, work)

    async def run_as_one_statement(self, work: Callable[[OneStatement], Awaitable[T]]) -> T:
        """Run ``work``'s reads at once and send its writes as one statement, committed on its
        own; :class:`Stale` (nothing written) when an expectation fails. ``work`` may raise
        :class:`Stale` itself to decline."""
        pool = await self._ensure_pool()
        try:
            async with pool.acquire() as raw:
                conn = PgOneStatement(raw)
                result = await work(conn)
                await conn.send()
        except _PG_UNAVAILABLE as exc:
            raise ServiceUnavailable() from exc
        except asyncpg.PostgresError as exc:
            # PostgreSQL refused the reads or the statement, so nothing of it committed: the
            # transaction decides (and answers an error itself if it is real). A refusal of
            # another kind is logged, since it costs every such request a second try.
            if not gives_way(exc):
                log.warning(
                    "a unit of work sent as one statement failed; running it as a transaction: %s",
                    exc,
                )
            raise Stale(str(exc)) from exc
        if conn.committed:
            run_after_commit(conn.committed)
        return result

    def pool_usage(self) -> tuple[int, int]:
        """(connections open, connections in use) of this process's pool."""
        pool = self._pool
        if pool is None:
            return 0, 0
        size: int = pool.get_size()
        return size, size - pool.get_idle_size()


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Nothing to reset when a connection goes back to the pool.

    asyncpg's default reset sends ``RESET ALL``, ``UNLISTEN *``, ``CLOSE ALL`` and an advisory
    unlock-all on every release: a round trip per request for state Tessera never creates (its
    only advisory locks are transaction-scoped; it sets, listens and declares nothing). The
    pool still rolls back a transaction left open before calling this.
    """
