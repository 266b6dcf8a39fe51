"""The PostgreSQL pool skips asyncpg's per-release session reset (a round trip per request),
and still never hands out a connection with a transaction left open."""

from __future__ import annotations

import asyncio

import asyncpg

from tessera.db import PostgresDatabase


def test_a_connection_released_mid_transaction_is_rolled_back(pg_url: str) -> None:
    db = PostgresDatabase(pg_url, pool_size=1)  # one connection: the next acquire reuses it

    async def scenario() -> None:
        await db.connect()
        try:
            async with db.reader() as conn:
                raw = conn._raw  # type: ignore[attr-defined]
                await raw.execute("BEGIN")  # outside asyncpg's managed transactions
                await raw.execute("CREATE TEMP TABLE left_open (n int)")
                await raw.execute("INSERT INTO left_open VALUES (1)")
            async with db.reader() as conn:
                raw = conn._raw  # type: ignore[attr-defined]
                assert not raw.is_in_transaction()
                assert await raw.fetchval("SELECT to_regclass('pg_temp.left_open')") is None
        finally:
            await db.close()

    asyncio.run(scenario())


def test_release_sends_no_reset_query(pg_url: str) -> None:
    """Seen from another connection, an idle pooled backend's last query is the app's own,
    not asyncpg's reset (``... RESET ALL``): the release cost no round trip."""
    db = PostgresDatabase(pg_url, pool_size=1)

    async def scenario() -> None:
        await db.connect()
        observer = await asyncpg.connect(pg_url)
        try:
            async with db.transaction() as conn:
                await conn.fetchval("SELECT 'last statement of the request'")
                backend = conn._raw.get_server_pid()  # type: ignore[attr-defined]
            last = await observer.fetchval(
                "SELECT query FROM pg_stat_activity WHERE pid = $1", backend
            )
            assert last == "COMMIT;", last
        finally:
            await observer.close()
            await db.close()

    asyncio.run(scenario())
