"""Copies SQLite's write-ahead log back into the database from a background thread.

Left to itself, SQLite checkpoints inside the ``COMMIT`` that crosses ``wal_autocheckpoint``:
that commit copies thousands of pages and waits for two ``fsync`` calls, and because Tessera
runs SQLite on the event loop, every request in flight waits with it (the 200-300 ms p99 stalls
the benchmark showed). Here a thread with its own connection runs ``PASSIVE`` checkpoints a few
times a second. ``PASSIVE`` never waits for a lock and never blocks the writer; the copying and
the ``fsync`` calls run in SQLite's C code with the GIL released, so the event loop keeps
serving.

The writer keeps its own ``wal_autocheckpoint`` as a backstop. A log can only restart from its
beginning once every frame in it is copied back, which under continuous writes a concurrent
checkpoint never quite catches; when the log reaches the backstop size, the writer's own
checkpoint finds most of it already copied, copies the rest and lets the log restart. If this
thread ever stops, commits checkpoint as SQLite does by default, only at the backstop's size
(``tessera.db.BACKSTOP_CHECKPOINT_PAGES``) instead of SQLite's 1,000 pages.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger("tessera.db")

INTERVAL_SECONDS = 0.1


class Checkpointer:
    def __init__(self, path: str, interval: float = INTERVAL_SECONDS) -> None:
        self.path = path
        self.interval = interval
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        try:
            raw = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            log.warning("background checkpoints are off (%s); SQLite checkpoints on commit", exc)
            return
        try:
            # Never wait for a lock: a busy database is simply checkpointed on the next round.
            raw.execute("PRAGMA busy_timeout=0")
            while not self._stopping.wait(self.interval):
                try:
                    raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:  # a full or read-only disk: the writer reports it
                    log.debug("background checkpoint skipped: %s", exc)
        finally:
            raw.close()
