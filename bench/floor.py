"""SQLite's own share of a Create Attendee, measured without HTTP: the floor under one process.

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
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tessera.db import _to_sqlite, open_sqlite
from tessera.sqlite_checkpoint import Checkpointer

Recorded = Sequence[tuple[str, tuple[Any, ...], bool]]


@dataclass(frozen=True)
class Step:
    sql: str
    args: tuple[Any, ...]
    fresh: tuple[bool, ...]  # which arguments get a per-replay suffix
    in_transaction: bool


def steps_of(first: Recorded, second: Recorded) -> list[Step]:
    """The replayable statements of a create, from two recorded creates of the same shape."""
    if [s[0] for s in first] != [s[0] for s in second]:
        raise ValueError("the two recorded creates sent different statements")
    steps = []
    for (sql, args, in_transaction), (_, other, _) in zip(first, second, strict=True):
        fresh = tuple(isinstance(a, str) and a != b for a, b in zip(args, other, strict=True))
        steps.append(Step(_to_sqlite(sql), args, fresh, in_transaction))
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
