"""SPEC §11: however the supervisor dies (here `kill -9`, which no handler sees), its workers
exit within a few seconds: none keeps the port, serves requests or holds database connections.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import asyncpg
import httpx
import pytest

from tests.concurrency.harness import Cluster
from tests.serve.conftest import Launch, alive, children

pytestmark = pytest.mark.slow

EXIT_WITHIN = 6.0  # seconds; the workers' own hard stop is 5 s after they notice


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


async def _backends(url: str) -> int:
    """Connections to the test database other than this one."""
    conn = await asyncpg.connect(url)
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return count
    finally:
        await conn.close()


def test_kill_9_of_the_supervisor_takes_its_workers_down(launch: Launch) -> None:
    cluster: Cluster = launch(processes=[2])
    server = cluster.servers[0]
    assert server.proc is not None
    supervisor = server.proc.pid
    workers = children(supervisor)
    assert len(workers) == 2, workers
    assert httpx.get(f"{server.url}/healthz").status_code == 200
    if cluster.kind == "postgresql":
        assert asyncio.run(_backends(cluster.database_url)) >= 2  # pools and listeners

    os.kill(supervisor, signal.SIGKILL)  # the supervisor alone, not its process group
    server.proc.wait(timeout=5)
    started = time.monotonic()
    while time.monotonic() - started < EXIT_WITHIN and any(alive(pid) for pid in workers):
        time.sleep(0.05)
    gone_after = time.monotonic() - started
    assert not [pid for pid in workers if alive(pid)], (
        f"workers still running {EXIT_WITHIN} s after the supervisor died:\n{server.log_tail()}"
    )
    assert _port_is_free(server.port), "a worker still holds the port"
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{server.url}/healthz", timeout=2)
    if cluster.kind == "postgresql":
        deadline = time.monotonic() + 5
        while asyncio.run(_backends(cluster.database_url)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert asyncio.run(_backends(cluster.database_url)) == 0, "database connections remain"
    print(f"\n{cluster.kind}: workers gone {gone_after:.2f} s after kill -9 of the supervisor")

    # The port is ours again: a new server starts on it and serves alone.
    server.proc = None
    server.start()
    server.wait_ready()
    assert httpx.get(f"{server.url}/healthz").status_code == 200


# The backstop alone (no kernel signal): a grandchild whose parent is killed notices by polling.
_GRANDCHILD = textwrap.dedent(
    """
    import os, sys, time
    from tessera.serve import orphan
    orphan._set_parent_death_signal = lambda signum: None  # the kernel's signal: off
    orphan.exit_with_parent(os.getppid())
    print(os.getpid(), flush=True)
    time.sleep(60)
    """
)
_PARENT = textwrap.dedent(
    """
    import subprocess, sys, time
    child = subprocess.Popen([sys.executable, "-c", sys.argv[1]], stdout=sys.stdout)
    time.sleep(60)
    """
)


def test_the_parent_watch_alone_ends_an_orphan() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", _PARENT, _GRANDCHILD], stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        grandchild = int(parent.stdout.readline())
        assert alive(grandchild)
        parent.kill()
        parent.wait()
        started = time.monotonic()
        while alive(grandchild) and time.monotonic() - started < 3:
            time.sleep(0.05)
        assert not alive(grandchild), "the orphan kept running"
    finally:
        parent.kill()


def test_a_worker_that_dies_is_replaced(launch: Launch) -> None:
    cluster: Cluster = launch(processes=[2])
    server = cluster.servers[0]
    assert server.proc is not None
    before = children(server.proc.pid)
    os.kill(before[0], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        now = children(server.proc.pid)
        if len(now) == 2 and before[0] not in now:
            break
        time.sleep(0.05)
    now = children(server.proc.pid)
    assert len(now) == 2 and before[0] not in now, (before, now, server.log_tail())
    server.wait_ready()
    for _ in range(10):  # whichever worker takes the connection answers
        assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200


def test_a_server_restarted_at_once_after_kill_9_gets_the_port(launch: Launch) -> None:
    cluster: Cluster = launch(processes=[2])
    server = cluster.servers[0]
    assert server.proc is not None
    old_workers = children(server.proc.pid)
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait(timeout=5)
    server.proc = None
    server.start()  # at once: the old workers may still hold the port for a moment
    deadline = time.monotonic() + EXIT_WITHIN
    while time.monotonic() < deadline and any(alive(pid) for pid in old_workers):
        time.sleep(0.05)
    assert not [pid for pid in old_workers if alive(pid)]
    server.wait_ready()  # the new server's own workers answer: the old ones are gone
    assert server.proc is not None and len(children(server.proc.pid)) == 2
    assert httpx.get(f"{server.url}/healthz").status_code == 200
