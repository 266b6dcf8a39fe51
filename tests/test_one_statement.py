"""Units of work sent as one statement (``Database.run_as_one_statement``, PostgreSQL): reads run
at once; every write travels in one statement that commits only if each expectation holds, and
otherwise writes nothing and raises ``Stale``. SQLite declines: it runs the transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tessera import db as database
from tessera.db import OneStatement, Stale, create_database
from tessera.errors import ServiceUnavailable

_DDL = """
DROP TABLE IF EXISTS one_child, one_parent;
DROP SEQUENCE IF EXISTS one_order;
CREATE SEQUENCE one_order;
CREATE TABLE one_parent (id TEXT PRIMARY KEY, seats INTEGER NOT NULL DEFAULT 0);
CREATE TABLE one_child (id TEXT PRIMARY KEY, parent_id TEXT NOT NULL REFERENCES one_parent (id));
INSERT INTO one_parent (id, seats) VALUES ('p', 1);
"""


def _run(url: str, scenario: Callable[[database.Database], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        admin = await asyncpg.connect(url)
        await admin.execute(_DDL)
        db = create_database(url, pool_size=1)
        await db.connect()
        try:
            return await scenario(db)
        finally:
            await db.close()
            # the PostgreSQL test database is shared with the schema-vs-models test
            await admin.execute("DROP TABLE IF EXISTS one_child, one_parent")
            await admin.execute("DROP SEQUENCE IF EXISTS one_order")
            await admin.close()

    return asyncio.run(main())


async def _rows(db: database.Database) -> tuple[int, list[str]]:
    async with db.reader() as conn:
        seats = await conn.fetchval("SELECT seats FROM one_parent WHERE id = 'p'")
        children = [r[0] for r in await conn.fetch("SELECT id FROM one_child ORDER BY id")]
    return int(seats), children


def test_expectations_that_hold_commit_everything_in_one_statement(pg_url: str) -> None:
    async def scenario(db: database.Database) -> Any:
        async def unit(conn: OneStatement) -> int:
            before = await conn.fetchval("SELECT seats FROM one_parent WHERE id = 'p'")
            await conn.expect(
                1, "UPDATE one_parent SET seats = seats + 1 WHERE id = $1 RETURNING 1", "p"
            )
            await conn.defer("INSERT INTO one_child (id, parent_id) VALUES ($1, $2)", "c1", "p")
            await conn.expect(0, "SELECT 1 FROM one_child WHERE id = $1", "c1")  # not yet
            # reads see the database as it was: nothing queued is visible to them
            assert await conn.fetchval("SELECT count(*) FROM one_child") == 0
            return int(before)

        sent = database.STATEMENTS.count
        read_before = await db.run_as_one_statement(unit)
        return read_before, database.STATEMENTS.count - sent, await _rows(db)

    read_before, sent, rows = _run(pg_url, scenario)
    assert read_before == 1
    assert sent == 3  # two reads and the one statement
    assert rows == (2, ["c1"])


def test_an_expectation_that_fails_writes_nothing_and_is_stale(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario(db: database.Database) -> Any:
        async def unit(conn: OneStatement) -> None:
            await conn.defer("INSERT INTO one_child (id, parent_id) VALUES ($1, $2)", "c1", "p")
            await conn.expect(
                1, "UPDATE one_parent SET seats = seats + 1 WHERE id = $1 RETURNING 1", "p"
            )
            # a conditional claim that finds no room: zero rows where one was expected
            await conn.expect(
                1, "UPDATE one_parent SET seats = seats + 5 WHERE seats + 5 <= 3 RETURNING 1"
            )
            await conn.defer("INSERT INTO one_child (id, parent_id) VALUES ($1, $2)", "c2", "p")

        with pytest.raises(Stale):
            await db.run_as_one_statement(unit)
        return await _rows(db)

    assert _run(pg_url, scenario) == (1, [])
    assert "running it as a transaction" not in caplog.text  # expected: not worth a warning


def test_a_constraint_that_refuses_is_stale_and_writes_nothing(pg_url: str) -> None:
    async def scenario(db: database.Database) -> Any:
        async def unit(conn: OneStatement) -> None:
            await conn.expect(
                1, "UPDATE one_parent SET seats = seats + 1 WHERE id = $1 RETURNING 1", "p"
            )
            await conn.defer(  # no such parent: a foreign-key violation at the statement's end
                "INSERT INTO one_child (id, parent_id) VALUES ($1, $2)", "c1", "nobody"
            )

        with pytest.raises(Stale):
            await db.run_as_one_statement(unit)
        return await _rows(db)

    assert _run(pg_url, scenario) == (1, [])


def test_a_unit_that_declines_writes_nothing(pg_url: str) -> None:
    async def scenario(db: database.Database) -> Any:
        async def unit(conn: OneStatement) -> None:
            await conn.expect(
                1, "UPDATE one_parent SET seats = seats + 1 WHERE id = $1 RETURNING 1", "p"
            )
            raise Stale("not for one statement")

        with pytest.raises(Stale):
            await db.run_as_one_statement(unit)
        return await _rows(db)

    assert _run(pg_url, scenario) == (1, [])


@pytest.mark.parametrize("call", ["execute", "flush"])
def test_a_write_that_would_run_on_its_own_is_refused(pg_url: str, call: str) -> None:
    async def scenario(db: database.Database) -> Any:
        async def unit(conn: OneStatement) -> None:
            if call == "execute":
                await conn.execute("UPDATE one_parent SET seats = 9")
            else:
                await conn.defer("UPDATE one_parent SET seats = 9")
                await conn.flush()

        with pytest.raises(RuntimeError):
            await db.run_as_one_statement(unit)
        return await _rows(db)

    assert _run(pg_url, scenario) == (1, [])


def test_an_unreachable_database_is_503() -> None:
    async def scenario() -> None:
        db = create_database("postgresql://postgres@127.0.0.1:1/nothing", pool_size=1)

        async def unit(conn: OneStatement) -> None:
            raise AssertionError("never reached")

        with pytest.raises(ServiceUnavailable):
            await db.run_as_one_statement(unit)

    asyncio.run(scenario())


def test_sqlite_declines_so_the_transaction_runs(tmp_path: Path) -> None:
    async def scenario() -> None:
        db = create_database(f"sqlite:///{tmp_path / 'one.db'}")
        assert db.one_statement_units is False

        async def unit(conn: OneStatement) -> None:
            raise AssertionError("never reached")

        with pytest.raises(Stale):
            await db.run_as_one_statement(unit)

    asyncio.run(scenario())


def test_checks_run_in_order_stop_at_the_first_failure_and_precede_plain_writes(
    pg_url: str,
) -> None:
    """A sequence is not rolled back, so it shows which parts ran, and in what order. The
    order matters for speed, not safety: the key's lock is checked before any row is locked."""

    async def scenario(db: database.Database) -> Any:
        async def failing(conn: OneStatement) -> None:
            await conn.expect(1, "SELECT nextval('one_order')")  # runs: 1
            await conn.expect(1, "SELECT 1 WHERE false")  # fails
            await conn.expect(1, "SELECT nextval('one_order')")  # never runs

        with pytest.raises(Stale):
            await db.run_as_one_statement(failing)

        async def holding(conn: OneStatement) -> None:
            await conn.defer(  # queued first, yet runs after every check
                "INSERT INTO one_child (id, parent_id) SELECT 'c' || nextval('one_order'), 'p'"
            )
            await conn.expect(1, "SELECT nextval('one_order')")  # 2

        await db.run_as_one_statement(holding)
        async with db.reader() as conn:
            last = await conn.fetchval("SELECT last_value FROM one_order")
        return int(last), await _rows(db)

    assert _run(pg_url, scenario) == (3, (1, ["c3"]))


def test_any_other_refusal_writes_nothing_and_is_stale_and_is_logged(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario(db: database.Database) -> Any:
        async def unit(conn: OneStatement) -> None:
            await conn.expect(
                1, "UPDATE one_parent SET seats = seats + 1 WHERE id = $1 RETURNING 1", "p"
            )
            await conn.expect(1, "SELECT 1 WHERE 1 / $1 = 1", 0)  # division by zero

        with pytest.raises(Stale):
            await db.run_as_one_statement(unit)
        return await _rows(db)

    assert _run(pg_url, scenario) == (1, [])
    assert "running it as a transaction" in caplog.text
