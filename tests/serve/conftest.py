"""Real `tessera serve` processes (and `tessera worker`) for the tests of SPEC §11.

``launch`` starts a cluster for a test and stops whatever is left of it afterwards; the tests
signal single processes themselves (the supervisor alone, never its group) to see what the
processes do on their own.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.concurrency.harness import TESSERA, Cluster, Server, free_port, server_env
from tests.support import truncate_postgres

Launch = Callable[..., Cluster]


@pytest.fixture(params=["sqlite", "postgresql"])
def kind(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@pytest.fixture
def launch(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[Launch]:
    """``launch(processes=[2], **env)``: one `tessera serve --workers N` per entry, sharing one
    database of the parametrized kind, with an organization and a key made by the CLI."""
    made: list[Cluster] = []

    def start(processes: list[int] | None = None, **env: str) -> Cluster:
        if kind == "sqlite":
            path = tmp_path / "tessera.db"
            shutil.copy(sqlite_template, path)
            url = f"sqlite:///{path}"
        else:
            url = request.getfixturevalue("pg_url")
            truncate_postgres(url)
        environment = server_env(url, tmp_path)
        environment.update({f"TESSERA_{name.upper()}": value for name, value in env.items()})
        servers = [
            Server(f"serve{i}", free_port(), workers, environment, tmp_path)
            for i, workers in enumerate(processes or [2])
        ]
        cluster = Cluster(kind, url, environment, tmp_path, servers)
        made.append(cluster)
        cluster.start()
        cluster.org_id = cluster.cli("orgs", "create", "Ops Org")["id"]
        cluster.new_key()
        return cluster

    yield start
    for cluster in made:
        cluster.stop()


def start_worker(cluster: Cluster) -> subprocess.Popen[bytes]:
    """A `tessera worker` beside the cluster's servers; its output goes to worker.log."""
    log = (cluster.workdir / "worker.log").open("ab")
    return subprocess.Popen(
        [str(TESSERA), "worker"],
        env=cluster.env,
        cwd=cluster.workdir,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def children(pid: int) -> list[int]:
    """The live child processes of ``pid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid and fields[0] not in ("Z", "X"):
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2 :].split()[0] not in ("Z", "X")
