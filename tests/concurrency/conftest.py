"""Fixtures that start real `tessera serve` processes over SQLite or PostgreSQL.

- SQLite: one `tessera serve --workers 2` (two uvicorn worker processes sharing the port and the
  database file) over a copy of the session's migrated template.
- PostgreSQL: TWO separate `tessera serve` processes on different ports sharing the session's
  database (truncated first); the load is spread across both.

The organization and API key are made with the CLI, as an operator would.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.concurrency.harness import TESSERA, Cluster, Server, free_port, server_env
from tests.support import truncate_postgres


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[Cluster]:
    """Per module, not per test: starting servers is most of the cost. Tests stay independent
    by working on their own event (every check is scoped to it) and their own emails and keys.
    The crash test is alone in its module, so the servers it kills are its own."""
    kind: str = request.param
    if not TESSERA.is_file():
        pytest.fail(f"the `tessera` console script is not installed at {TESSERA}: pip install -e .")
    tmp_path = tmp_path_factory.mktemp(kind)
    if kind == "sqlite":
        path = tmp_path / "tessera.db"
        shutil.copy(sqlite_template, path)
        url = f"sqlite:///{path}"
        env = server_env(url, tmp_path)
        servers = [Server("serve", free_port(), 2, env, tmp_path)]
    else:
        url = request.getfixturevalue("pg_url")
        truncate_postgres(url)
        env = server_env(url, tmp_path)
        servers = [Server(f"serve{i}", free_port(), 1, env, tmp_path) for i in (1, 2)]
    found = Cluster(kind, url, env, tmp_path, servers)
    try:
        found.start()
        found.org_id = found.cli("orgs", "create", "Race Org")["id"]
        found.new_key()
        yield found
    finally:
        found.stop()
