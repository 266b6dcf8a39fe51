"""SQLite's log is copied back into the database file by a background thread, not by commits."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import threading
import time
from pathlib import Path

from tessera.db import BACKSTOP_CHECKPOINT_PAGES, SqliteDatabase


def _rows_in_main_file(path: Path, copy: Path) -> int:
    """Rows visible in the database file alone: what has been checkpointed out of the WAL."""
    shutil.copyfile(path, copy)
    with sqlite3.connect(copy) as raw:
        try:
            count: int = raw.execute("SELECT count(*) FROM things").fetchone()[0]
        except sqlite3.OperationalError:  # the CREATE TABLE is not in the file yet either
            return 0
    return count


def _checkpoint_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "sqlite-checkpoint"]


def test_commits_reach_the_database_file_without_a_commit_checkpointing(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    db = SqliteDatabase(str(path))

    async def scenario() -> None:
        await db.connect()
        try:
            async with db.transaction() as conn:
                await conn.execute("CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT)")
            for n in range(20):  # a few pages: far below the commit-time backstop
                async with db.transaction() as conn:
                    await conn.execute("INSERT INTO things (name) VALUES ($1)", f"thing {n}")
            assert BACKSTOP_CHECKPOINT_PAGES > 20
            deadline = time.monotonic() + 5
            while _rows_in_main_file(path, tmp_path / "copy.db") != 20:
                assert time.monotonic() < deadline, "the WAL was not checkpointed in 5 s"
                await asyncio.sleep(0.05)
            assert len(_checkpoint_threads()) == 1
        finally:
            await db.close()

    asyncio.run(scenario())
    assert _checkpoint_threads() == []  # close() stops the thread


def test_a_missing_directory_leaves_commits_checkpointing_themselves(tmp_path: Path) -> None:
    """If the checkpoint thread cannot open the database it logs and exits; nothing breaks."""
    from tessera.sqlite_checkpoint import Checkpointer

    checkpointer = Checkpointer(str(tmp_path / "no" / "such" / "dir.db"), interval=0.01)
    checkpointer.start()
    checkpointer.stop()
    assert _checkpoint_threads() == []


def test_the_log_starts_over_under_sustained_writes(tmp_path: Path) -> None:
    """README: under sustained writes the -wal file grows to about 64 MiB (the backstop,
    16,000 pages) before it starts over, at times further while a background checkpoint holds
    the checkpoint lock (the writer's PASSIVE backstop then gives up, and the log cannot start
    over during a checkpoint): 107 MiB was measured on a slow disk; never twice the backstop.
    192 MB are written here, far faster than any server writes; a log that never started over
    reached 646 MiB in this test."""
    path = tmp_path / "t.db"
    db = SqliteDatabase(str(path))
    wal = Path(f"{path}-wal")
    largest = 0
    headers: set[bytes] = set()  # the log's checkpoint sequence and salts: new at each restart

    async def scenario() -> None:
        nonlocal largest
        await db.connect()
        try:
            async with db.transaction() as conn:
                await conn.execute("CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB)")
            for n in range(24_000):
                async with db.transaction() as conn:
                    await conn.execute("INSERT INTO blobs (data) VALUES ($1)", bytes(8000))
                    if n % 1000 == 0:
                        await conn.execute("DELETE FROM blobs WHERE id < $1", n)
                await asyncio.sleep(0)  # as a server does between requests
                if n % 200 == 0:
                    largest = max(largest, wal.stat().st_size)
                    with wal.open("rb") as log:
                        headers.add(log.read(24)[12:24])
        finally:
            await db.close()

    asyncio.run(scenario())
    backstop = BACKSTOP_CHECKPOINT_PAGES * 4096
    assert backstop <= 64 * 2**20  # the size the README names
    assert largest < 2 * backstop, f"the log grew to {largest / 2**20:.0f} MiB"
    # 192 MB through a log of at most 128 MiB: it started over, and more than once
    assert len(headers) >= 3, f"the log started over {len(headers) - 1} times"
