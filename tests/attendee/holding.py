"""Helpers for tests that race a request against rows held by another transaction
(PostgreSQL): a holder of row locks on its own connection, and a request on its own thread."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx


class Holder:
    """A transaction on its own connection (and thread) that has made ``statements`` and holds
    their row locks until :meth:`commit_once_blocking`."""

    def __init__(self, url: str, *statements: tuple[Any, ...]) -> None:
        self._url = url
        self._ready, self._commit = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=asyncio.run, args=(self._hold(statements),))
        self._thread.start()
        assert self._ready.wait(10), "the holding transaction did not start"

    async def _hold(self, statements: tuple[tuple[Any, ...], ...]) -> None:
        conn = await asyncpg.connect(self._url)
        try:
            async with conn.transaction():
                for sql, *args in statements:
                    await conn.execute(sql, *args)
                self._ready.set()
                await asyncio.get_running_loop().run_in_executor(None, self._commit.wait, 30)
        finally:
            await conn.close()

    def waiters(self) -> int:
        """How many other backends wait on a lock (statements behind our rows)."""

        async def query() -> int:
            conn = await asyncpg.connect(self._url)
            try:
                return int(
                    await conn.fetchval(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                        " AND datname = current_database()"
                    )
                )
            finally:
                await conn.close()

        return asyncio.run(query())

    def blocking(self) -> bool:
        """Whether another backend waits on a lock (the statement, behind our rows)."""
        return self.waiters() > 0

    def wait_until_blocking(self) -> None:
        deadline = time.monotonic() + 10
        while not self.blocking():
            assert time.monotonic() < deadline, "nothing came to wait on the held rows"
            time.sleep(0.02)

    def commit(self) -> None:
        self._commit.set()
        self._thread.join(15)


def in_thread(call: Callable[[], httpx.Response]) -> Callable[[], httpx.Response]:
    """Start ``call`` on another thread; the returned function waits for its response."""
    answers: list[httpx.Response] = []
    thread = threading.Thread(target=lambda: answers.append(call()))
    thread.start()

    def response() -> httpx.Response:
        thread.join(30)
        return answers[0]

    return response
