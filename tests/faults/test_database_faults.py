"""The database fails under a Create Attendee load; Tessera must fail closed and recover.

- PostgreSQL stops for a few seconds (the machine's shared server, `pg_ctlcluster ... stop`, and
  ALWAYS started again);
- SQLite's filesystem fills to 100% (the database on a small tmpfs, filled by another file);
- SQLite's files become unwritable (``chattr +i``: root ignores permission bits, not that).

While the fault lasts every answer is a 503 in the documented error shape (never a 500, never a
hang); when it is lifted the same server process serves 201s again by itself. Then every key is
retried until it settles, and the database must show: each key executed at most once (exactly
once when answered 201), every committed order whole and readable, counters equal to the
seat-holding rows, and (SQLite) ``PRAGMA integrity_check`` = ok.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.concurrency.harness import Client, Cluster, Server, free_port, server_env
from tests.faults.load import REQUEST_TIMEOUT, Load
from tests.support import truncate_postgres

pytestmark = pytest.mark.slow

FAULT_SECONDS = 3.0  # kept short: the PostgreSQL server is shared with everything on the machine
RECOVERY_TIMEOUT = 30.0
PG_CLUSTER = ("15", "main")
REPORT = Path(__file__).resolve().parents[2] / "artifacts" / "reliability" / "faults.json"


def _pg_ctl(action: str) -> None:
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", *PG_CLUSTER, action],
        check=True,
        capture_output=True,
        timeout=60,
    )


def _pg_running() -> bool:
    done = subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", *PG_CLUSTER, "status"],
        capture_output=True,
        timeout=30,
        check=False,
    )
    return done.returncode == 0


def _one_server(kind: str, url: str, workdir: Path) -> Cluster:
    env = server_env(url, workdir)
    return Cluster(kind, url, env, workdir, [Server("fault", free_port(), 1, env, workdir)])


def _start(cluster: Cluster) -> Cluster:
    cluster.start()
    cluster.org_id = cluster.cli("orgs", "create", "Fault Org")["id"]
    cluster.new_key()
    return cluster


def _must_have(tool: str) -> None:
    if shutil.which(tool) is None:
        message = f"`{tool}` is not installed; this fault test needs it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


async def _through_fault(
    cluster: Cluster, fault_on: Callable[[], None], fault_off: Callable[[], None]
) -> dict[str, Any]:
    """Load before, during and after the fault; then settle every key and check the books."""
    async with Client(cluster) as api:
        api.http.timeout = httpx.Timeout(REQUEST_TIMEOUT)
        event = await api.make_event(capacity=0)
        tc = await api.make_class(event["id"], "Fault")
        load = Load(cluster, event["id"], tc["id"])
        lifted = False
        try:
            async with load.running(api):
                await asyncio.sleep(1.0)
                load.phase = "during"
                await asyncio.to_thread(fault_on)
                await asyncio.sleep(FAULT_SECONDS)
                await asyncio.to_thread(fault_off)
                lifted = True
                load.phase = "after"
                recovery = await load.wait_for_201(api, RECOVERY_TIMEOUT)
                await asyncio.sleep(1.0)
        finally:
            if not lifted:
                await asyncio.to_thread(fault_off)
        await load.settle(api)
        histogram = load.histogram()
        problems = load.answer_problems()
        during = [o for o in load.orders if o.phase == "during"]
        refused = [o for o in during if o.status == 503]
        assert refused, f"the fault produced no 503 at all: {histogram}"
        slowest = max(o.seconds for o in load.orders)
        problems += await load.books_problems(api)
    figures = {
        "requests": len(load.orders),
        "answers": histogram,
        "committed": sum(1 for o in load.orders if o.final == 201 or o.phase == "probe"),
        "fault_seconds": FAULT_SECONDS,
        "recovery_seconds": round(recovery, 2),
        "slowest_answer_seconds": round(slowest, 2),
    }
    assert not problems, "\n".join(problems[:40]) + f"\n{figures}"
    return figures


def _record(name: str, figures: dict[str, Any]) -> None:
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    existing = json.loads(REPORT.read_text()) if REPORT.exists() else {}
    REPORT.write_text(json.dumps({**existing, name: figures}, indent=2))
    print(f"\n{name}: {figures}")


# PostgreSQL -----------------------------------------------------------------------------------
@pytest.fixture
def pg_cluster(pg_url: str, tmp_path: Path) -> Iterator[Cluster]:
    _must_have("pg_ctlcluster")
    truncate_postgres(pg_url)
    cluster = _one_server("postgresql", pg_url, tmp_path)
    try:
        yield _start(cluster)
    finally:
        cluster.stop()
        if not _pg_running():  # whatever happened, the shared server is left running
            _pg_ctl("start")


def test_postgres_stopping_under_load_answers_503_and_recovers(pg_cluster: Cluster) -> None:
    def stop() -> None:
        _pg_ctl("stop")

    def start() -> None:
        _pg_ctl("start")

    try:
        figures = asyncio.run(_through_fault(pg_cluster, stop, start))
    finally:
        if not _pg_running():
            _pg_ctl("start")
    _record("postgresql_stopped", figures)


# SQLite ---------------------------------------------------------------------------------------
def _integrity(path: Path) -> str:
    raw = sqlite3.connect(path, timeout=30)
    try:
        return str(raw.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        raw.close()


@contextlib.contextmanager
def _small_filesystem(where: Path, size: str) -> Iterator[Path]:
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        message = f"cannot mount a tmpfs here ({done.stderr.strip()}); the disk-full test needs it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False, capture_output=True)


def _fill(directory: Path) -> Path:
    """Fill the filesystem to the last byte with another file."""
    filler = directory / "filler"
    chunk = 1 << 20
    with filler.open("wb", buffering=0) as out:
        while chunk >= 512:
            try:
                out.write(b"\0" * chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                chunk //= 2
    return filler


def test_sqlite_disk_full_answers_503_and_recovers(tmp_path: Path, sqlite_template: Path) -> None:
    with _small_filesystem(tmp_path / "small", "64m") as small:  # WAL grows to 16 MiB
        path = small / "tessera.db"
        shutil.copy(sqlite_template, path)
        cluster = _one_server("sqlite", f"sqlite:///{path}", tmp_path)
        fillers: list[Path] = []
        try:
            _start(cluster)
            figures = asyncio.run(
                _through_fault(
                    cluster,
                    lambda: fillers.append(_fill(small)),
                    lambda: [filler.unlink() for filler in fillers],
                )
            )
        finally:
            cluster.stop()
        assert _integrity(path) == "ok"
    _record("sqlite_disk_full", figures)


def test_sqlite_unwritable_files_answer_503_and_recover(
    tmp_path: Path, sqlite_template: Path
) -> None:
    _must_have("chattr")
    path = tmp_path / "tessera.db"
    shutil.copy(sqlite_template, path)
    cluster = _one_server("sqlite", f"sqlite:///{path}", tmp_path)
    # The main file and the WAL; not the -shm index, which SQLite maps into memory (an immutable
    # mapped file faults the process with SIGBUS: a crash, not the fault under test).
    files = [path, path.with_name(path.name + "-wal")]

    def chattr(flag: str) -> None:
        for file in files:
            subprocess.run(["chattr", flag, str(file)], check=True, capture_output=True)

    try:
        _start(cluster)
        deadline = time.monotonic() + 10
        while not files[1].exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        figures = asyncio.run(_through_fault(cluster, lambda: chattr("+i"), lambda: chattr("-i")))
    finally:
        for file in files:
            subprocess.run(["chattr", "-i", str(file)], check=False, capture_output=True)
        cluster.stop()
    assert _integrity(path) == "ok"
    _record("sqlite_unwritable", figures)
