"""Deferred writes (``Connection.defer``): on PostgreSQL they travel inside the transaction's
next statement, or go out before ``COMMIT``; on SQLite they run at once. Either way, what a
transaction wrote is committed or rolled back as a whole, and errors still reach the caller."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import asyncpg
import pytest

from tessera import db as database
from tessera.db import Connection, IntegrityViolation, create_database


async def _schema(url: str) -> None:
    await _drop(url)  # what a run that died before its cleanup left
    if url.startswith("sqlite"):
        raw = sqlite3.connect(url.removeprefix("sqlite:///"))
        raw.executescript(_DDL)
        raw.close()
        return
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(_DDL)
    finally:
        await conn.close()


async def _drop(url: str) -> None:
    if url.startswith("postgresql"):
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("DROP TABLE IF EXISTS deferred_child, deferred_parent")
        finally:
            await conn.close()


_DDL = """
CREATE TABLE deferred_parent (id TEXT PRIMARY KEY);
CREATE TABLE deferred_child (id TEXT PRIMARY KEY,
    parent_id TEXT NOT NULL REFERENCES deferred_parent (id));
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'deferred.db'}"
    value: str = request.getfixturevalue("pg_url")
    return value


def _run(url: str, work: object) -> object:
    async def scenario() -> object:
        await _schema(url)
        db = create_database(url, pool_size=1)
        await db.connect()
        try:
            return await work(db)  # type: ignore[operator]
        finally:
            await db.close()
            await _drop(url)  # the PostgreSQL test database is shared with the schema tests

    return asyncio.run(scenario())


def test_deferred_writes_join_the_next_statement_and_commit(url: str) -> None:
    async def work(db: database.Database) -> tuple[int, int, list[str]]:
        async def unit(conn: Connection) -> tuple[int, int]:
            before = database.STATEMENTS.count
            await conn.defer("INSERT INTO deferred_parent (id) VALUES ($1)", "p1")
            await conn.defer(  # a row depending on the one deferred before it
                "INSERT INTO deferred_child (id, parent_id) VALUES ($1, $2)", "c1", "p1"
            )
            seen = await conn.fetchval(
                "WITH x AS (SELECT CAST($1 AS TEXT) AS v) SELECT count(*) FROM x", "probe"
            )
            return database.STATEMENTS.count - before, int(seen)

        sent, seen = await db.run(unit)
        async with db.reader() as conn:
            rows = [r[0] for r in await conn.fetch("SELECT id FROM deferred_child")]
        return sent, seen, rows

    sent, seen, rows = _run(url, work)  # type: ignore[misc]
    assert rows == ["c1"]
    assert seen == 1
    assert sent == (1 if url.startswith("postgresql") else 3)  # one statement on PostgreSQL


def test_what_is_still_deferred_is_sent_before_commit(url: str) -> None:
    async def work(db: database.Database) -> int:
        async def unit(conn: Connection) -> None:
            await conn.defer("INSERT INTO deferred_parent (id) VALUES ($1)", "p1")
            await conn.defer("INSERT INTO deferred_parent (id) VALUES ($1)", "p2")

        await db.run(unit)
        async with db.reader() as conn:
            return int(await conn.fetchval("SELECT count(*) FROM deferred_parent"))

    assert _run(url, work) == 2


def test_a_failing_deferred_write_fails_the_transaction_and_keeps_nothing(url: str) -> None:
    async def work(db: database.Database) -> tuple[bool, int]:
        async def unit(conn: Connection) -> None:
            await conn.defer("INSERT INTO deferred_parent (id) VALUES ($1)", "p1")
            await conn.defer(  # its parent does not exist: a foreign-key violation
                "INSERT INTO deferred_child (id, parent_id) VALUES ($1, $2)", "c1", "nobody"
            )

        refused = False
        try:
            await db.run(unit)
        except IntegrityViolation:
            refused = True
        async with db.reader() as conn:
            return refused, int(await conn.fetchval("SELECT count(*) FROM deferred_parent"))

    assert _run(url, work) == (True, 0)
