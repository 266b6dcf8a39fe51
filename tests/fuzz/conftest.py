"""A real `tessera serve` process for the fuzz tests, on SQLite or PostgreSQL.

Built from the concurrency harness: one server process, an organization and an all-scopes key
made with the CLI, rate limiting off (the fuzzer would only measure the limiter), and webhook
endpoints allowed on loopback so the fuzzer can create them.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.concurrency.harness import Cluster, Server, free_port, server_env
from tests.support import truncate_postgres


@pytest.fixture(params=["sqlite", "postgresql"])
def served(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[Cluster]:
    kind: str = request.param
    if kind == "sqlite":
        path = tmp_path / "tessera.db"
        shutil.copy(sqlite_template, path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("pg_url")
        truncate_postgres(url)
    env = server_env(url, tmp_path)
    env["TESSERA_WEBHOOK_ALLOW_PRIVATE"] = "true"
    cluster = Cluster(kind, url, env, tmp_path, [Server("fuzz", free_port(), 1, env, tmp_path)])
    try:
        cluster.start()
        cluster.org_id = cluster.cli("orgs", "create", "Fuzz Org")["id"]
        cluster.new_key()
        yield cluster
    finally:
        cluster.stop()
