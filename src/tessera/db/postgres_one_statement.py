"""A unit of work sent to PostgreSQL as one statement (see ``tessera.db``): its connection and
the statement it builds."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import asyncpg

from tessera.db.base import STATEMENTS
from tessera.db.postgres_connection import PgConnection, shifted

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
        items.append(f"_part{number} AS ({shifted(sql, offset)})")
        offset += count
        if rows is not None:
            checks.append(
                f" WHEN (SELECT count(*) FROM _part{number}) <> {rows}"
                f" THEN tessera_unexpected({number})"
            )
    return f"WITH {', '.join(items)} SELECT CASE{''.join(checks)} ELSE true END"


class PgOneStatement(PgConnection):
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
        await self._raw.fetchval(sql, *values)


def gives_way(exc: asyncpg.PostgresError) -> bool:
    """Whether ``exc`` is one of the ways a one-statement unit is expected to give way: an
    expectation failed, a constraint refused (a concurrent insert), or a deadlock or
    serialization failure. Any refusal means nothing of the statement committed."""
    return isinstance(exc, asyncpg.IntegrityConstraintViolationError) or (
        getattr(exc, "sqlstate", None) in _STALE_STATES
    )
