"""The database's own share of a Create Attendee, measured without HTTP: the floor under it.

SQLite (:func:`measure`): the floor under one process.

The create scenario measures whole requests. This replays the statements that one real create
sent (recorded in-process, ``tessera.db.STATEMENTS.recording``) in a loop on one thread, the way
the event loop runs them: the authentication and idempotency reads in autocommit, then
``BEGIN IMMEDIATE``, the transaction's statements and ``COMMIT``, with the server's background
checkpointer running beside it. Every text argument that differed between two recorded creates
(IDs, barcode, email, Idempotency-Key) gets a fresh suffix on each replay, so every replay writes
new rows and index entries exactly as a create does.

The thread's CPU time per replay is what SQLite (with the ``sqlite3`` module) costs a create when
nothing else runs: no HTTP, no JSON, no Tessera code between the statements. Measured a second
time with every index that only serves reads dropped (the unique ones, which enforce rules,
stay), it bounds what any leaner schema could buy.

PostgreSQL (:func:`measure_postgres`): the statements a create sends (two once its class is
remembered: the key's lookup, then the one statement; the recorded creates follow fifty creates
of the class) replayed by as many connections as the served scenario uses, each create on
one of the scenario's ticket classes, for a number of seconds. PostgreSQL's processes' CPU per
create is what the database alone costs a create on this machine: the server's code and HTTP
come on top, on the same cores.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import uvloop

from tessera.db import open_sqlite, to_sqlite
from tessera.sqlite_checkpoint import Checkpointer

Recorded = Sequence[tuple[str, tuple[Any, ...], bool]]


@dataclass(frozen=True)
class Step:
    sql: str
    args: tuple[Any, ...]
    fresh: tuple[bool, ...]  # which arguments get a per-replay suffix
    in_transaction: bool


def steps_of(first: Recorded, second: Recorded, dialect: str = "sqlite") -> list[Step]:
    """The replayable statements of a create, from two recorded creates of the same shape."""
    if [s[0] for s in first] != [s[0] for s in second]:
        raise ValueError("the two recorded creates sent different statements")
    steps = []
    for (sql, args, in_transaction), (_, other, _) in zip(first, second, strict=True):
        fresh = tuple(isinstance(a, str) and a != b for a, b in zip(args, other, strict=True))
        text = to_sqlite(sql) if dialect == "sqlite" else sql
        steps.append(Step(text, args, fresh, in_transaction))
    return steps


@dataclass(frozen=True)
class Floor:
    creates: int
    cpu_us: float  # CPU of the replaying thread per create
    wall_us: float


def measure(path: str, steps: list[Step], creates: int, warmup: int) -> Floor:
    raw = open_sqlite(path)
    checkpointer = Checkpointer(path)
    checkpointer.start()
    run = uuid.uuid4().hex[:6]  # replays of an earlier measurement must not collide
    try:
        for i in range(warmup):
            replay(raw, steps, f"~{run}w{i}")
        cpu, wall = time.thread_time(), time.perf_counter()
        for i in range(creates):
            replay(raw, steps, f"~{run}{i}")
        cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
    finally:
        checkpointer.stop()
        raw.close()
    return Floor(creates, cpu / creates * 1e6, wall / creates * 1e6)


def replay(raw: sqlite3.Connection, steps: list[Step], suffix: str) -> None:
    open_transaction = False
    for step in steps:
        if step.in_transaction != open_transaction:
            raw.execute("BEGIN IMMEDIATE" if step.in_transaction else "COMMIT")
            open_transaction = step.in_transaction
        args = [a + suffix if f else a for a, f in zip(step.args, step.fresh, strict=True)]
        raw.execute(step.sql, args).fetchall()
    if open_transaction:
        raw.execute("COMMIT")


def drop_read_only_indexes(path: str) -> list[str]:
    """Drop every index that serves only reads (lists, searches, purges); keep the primary keys
    and unique indexes, which enforce rules. Returns the dropped indexes' names."""
    raw = sqlite3.connect(path, isolation_level=None)
    try:
        names = [
            name
            for name, sql in raw.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            )
            if "UNIQUE" not in sql.upper()
        ]
        for name in names:
            raw.execute(f'DROP INDEX "{name}"')
    finally:
        raw.close()
    return names


@dataclass(frozen=True)
class ServerFloor:
    creates: int
    seconds: float
    database_cpu_us: float  # PostgreSQL's processes, per create
    client_cpu_us: float  # this process (asyncpg and the replay loop), per create


def measure_postgres(
    url: str,
    steps: list[Step],
    *,
    recorded_target: tuple[str, str],
    targets: list[tuple[str, str]],
    connections: int,
    seconds: float,
    database_cpu: Callable[[], float],
) -> ServerFloor:
    """Replay a create's statements on ``connections`` connections for ``seconds``, each
    replay on the next of ``targets`` (event, class), in place of the recorded one."""
    run = uuid.uuid4().hex[:6]
    numbers = iter(range(10**12))
    done = 0

    async def loop(conn: asyncpg.Connection, until: float, counted: bool) -> None:
        nonlocal done
        while time.monotonic() < until:
            n = next(numbers)
            event_id, class_id = targets[n % len(targets)]
            swap = {recorded_target[0]: event_id, recorded_target[1]: class_id}
            await _replay_postgres(conn, steps, f"~{run}{n}", swap)
            done += counted

    async def main() -> ServerFloor:
        pool = [await asyncpg.connect(url) for _ in range(connections)]
        try:
            warm = time.monotonic() + min(2.0, seconds / 4)
            await asyncio.gather(*(loop(conn, warm, False) for conn in pool))
            database, client, started = database_cpu(), time.process_time(), time.monotonic()
            until = started + seconds
            await asyncio.gather(*(loop(conn, until, True) for conn in pool))
            elapsed = time.monotonic() - started
            database, client = database_cpu() - database, time.process_time() - client
        finally:
            for conn in pool:
                await conn.close()
        per = 1e6 / max(1, done)
        return ServerFloor(done, elapsed, database * per, client * per)

    return uvloop.run(main())


async def _replay_postgres(
    conn: asyncpg.Connection, steps: list[Step], suffix: str, swap: dict[str, str]
) -> None:
    open_transaction = False
    for step in steps:
        if step.in_transaction != open_transaction:
            await conn.execute("BEGIN" if step.in_transaction else "COMMIT")
            open_transaction = step.in_transaction
        args = [
            a + suffix if f else swap.get(a, a) if isinstance(a, str) else a
            for a, f in zip(step.args, step.fresh, strict=True)
        ]
        await conn.fetch(step.sql, *args)
    if open_transaction:
        await conn.execute("COMMIT")
