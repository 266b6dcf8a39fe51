"""The PostgreSQL connection (asyncpg) of a transaction, with its deferred writes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import asyncpg

from tessera.db.base import PLACEHOLDER, STATEMENTS, IntegrityViolation, Row


def shifted(sql: str, offset: int) -> str:
    return PLACEHOLDER.sub(lambda m: f"${int(m.group(1)) + offset}", sql)


@lru_cache(maxsize=256)
def _combined_sql(deferred: tuple[tuple[str, int], ...], final: str) -> str:
    """One statement: each deferred write as a data-modifying ``WITH`` item (PostgreSQL runs
    every one of them to completion, read or not), then ``final``, its placeholders shifted
    past theirs. All parts see one snapshot, so ``final`` does not see the deferred rows;
    constraints (foreign keys among them too) are checked when the statement ends."""
    items, offset = [], 0
    for number, (sql, count) in enumerate(deferred):
        items.append(f"_deferred{number} AS ({shifted(sql, offset)})")
        offset += count
    final = shifted(final, offset).lstrip()
    if final[:5].upper() == "WITH ":
        return f"WITH {', '.join(items)}, {final[5:]}"
    return f"WITH {', '.join(items)} {final}"


class PgConnection:
    dialect = "postgresql"

    def __init__(self, raw: asyncpg.Connection) -> None:
        self._raw = raw
        self._deferred: list[tuple[str, tuple[Any, ...]]] = []
        self.committed: list[Callable[[], None]] = []

    def after_commit(self, callback: Callable[[], None]) -> None:
        self.committed.append(callback)

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
