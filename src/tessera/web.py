"""What endpoints need from the running app: the database, the clock, a unit of work."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from fastapi import Request

from tessera.db import Connection, Database

T = TypeVar("T")


def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def now(request: Request) -> int:
    value: int = request.app.state.clock()
    return value


async def write(request: Request, work: Callable[[Connection], Awaitable[T]]) -> T:
    """Run one unit of work in a transaction: the request's single commit point."""
    return await database(request).run(work)


async def read(request: Request, work: Callable[[Connection], Awaitable[T]]) -> T:
    async with database(request).reader() as conn:
        return await work(conn)
