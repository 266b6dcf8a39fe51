"""A real `tessera serve` on SQLite with its access log on, shared by a module's tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.concurrency.harness import Cluster, Server, free_port, server_env


@pytest.fixture(scope="module")
def logged_server(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[Cluster]:
    workdir = tmp_path_factory.mktemp("served")
    path = workdir / "tessera.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    env = server_env(url, workdir)
    env["TESSERA_ACCESS_LOG"] = "true"
    cluster = Cluster("sqlite", url, env, workdir, [Server("logged", free_port(), 1, env, workdir)])
    try:
        cluster.start()
        cluster.org_id = cluster.cli("orgs", "create", "Logged Org")["id"]
        cluster.new_key()
        yield cluster
    finally:
        cluster.stop()
