"""The `tessera` command (SPEC §7), run as a real process, as scripts run it."""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tessera import migrate
from tessera.app import create_app
from tessera.config import Settings

TESSERA = str(Path(sys.executable).parent / "tessera")


def environment(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
    return {**env, "TESSERA_DATABASE_URL": database_url, **extra}


def tessera(
    *args: str, database_url: str, cwd: Path, **extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TESSERA, *args],
        env=environment(database_url, **extra),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def refused(result: subprocess.CompletedProcess[str]) -> str:
    """A failure as the contract wants it: non-zero, a sentence on stderr, no traceback."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip()) > 20, result.stderr
    return result.stderr


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def migrated(sqlite_url: str, tmp_path: Path) -> str:
    ok(tessera("db", "upgrade", database_url=sqlite_url, cwd=tmp_path))
    return sqlite_url


def app_client(database_url: str, tmp_path: Path) -> TestClient:
    settings = Settings(
        database_url=database_url,
        mail_dir=tmp_path / "mail",
        rate_limit_per_minute=0,
        access_log=False,
        worker_in_process=False,
        _env_file=None,  # type: ignore[call-arg]
    )
    return TestClient(create_app(settings), raise_server_exceptions=False)


def test_db_upgrade(sqlite_url: str, tmp_path: Path) -> None:
    ok(tessera("db", "upgrade", database_url=sqlite_url, cwd=tmp_path))
    path = sqlite_url.removeprefix("sqlite:///")
    assert migrate.current_revision_sqlite(path) == migrate.head_revision()
    ok(tessera("db", "upgrade", database_url=sqlite_url, cwd=tmp_path))  # again: nothing to do


def test_orgs_and_keys(migrated: str, tmp_path: Path) -> None:
    org = json.loads(
        ok(tessera("orgs", "create", "Acme Events", "--json", database_url=migrated, cwd=tmp_path))
    )
    assert org["id"].startswith("org_")
    assert org["name"] == "Acme Events"

    full = json.loads(
        ok(
            tessera(
                "keys",
                "create",
                "--org",
                org["id"],
                "--name",
                "ci",
                "--json",
                database_url=migrated,
                cwd=tmp_path,
            )
        )
    )
    assert full["id"] and full["key"].startswith("tsk_live_")
    reader = json.loads(
        ok(
            tessera(
                "keys",
                "create",
                "--org",
                org["id"],
                "--name",
                "reader",
                "--scopes",
                "events:read",
                "--json",
                database_url=migrated,
                cwd=tmp_path,
            )
        )
    )
    plain = ok(
        tessera(
            "keys",
            "create",
            "--org",
            org["id"],
            "--name",
            "plain",
            database_url=migrated,
            cwd=tmp_path,
        )
    )
    plain_key = re.search(r"tsk_live_\S+", plain)
    assert plain_key, plain

    listed = ok(tessera("keys", "list", "--org", org["id"], database_url=migrated, cwd=tmp_path))
    listed_json = ok(
        tessera("keys", "list", "--org", org["id"], "--json", database_url=migrated, cwd=tmp_path)
    )
    for output in (listed, listed_json):
        assert full["id"] in output and reader["id"] in output
        for secret in (full["key"], reader["key"], plain_key.group()):
            assert secret not in output
            assert secret.removeprefix("tsk_live_")[:16] not in output
    keys = json.loads(listed_json)["data"]
    assert len(keys) == 3
    assert all("key" not in key for key in keys)

    ok(tessera("keys", "revoke", full["id"], database_url=migrated, cwd=tmp_path))
    after = json.loads(
        ok(
            tessera(
                "keys", "list", "--org", org["id"], "--json", database_url=migrated, cwd=tmp_path
            )
        )
    )["data"]
    assert next(k for k in after if k["id"] == full["id"])["revoked_at"]
    assert not next(k for k in after if k["id"] == reader["id"])["revoked_at"]

    # The keys work (or not) against the API on the same database.
    with app_client(migrated, tmp_path) as client:

        def get(key: str) -> int:
            return client.get("/api/v1/events", headers={"X-API-KEY": key}).status_code

        assert get(full["key"]) == 401
        assert get(reader["key"]) == 200
        assert get(plain_key.group()) == 200
        body = {
            "name": "x",
            "start": {"utc": "2027-01-01T10:00", "timezone": "UTC"},
            "location": "Hall",
        }
        response = client.post("/api/v1/events", json=body, headers={"X-API-KEY": reader["key"]})
        assert response.status_code == 403
        assert response.json()["required"] == "events:write"


def test_bad_scope_list(migrated: str, tmp_path: Path) -> None:
    org = json.loads(
        ok(tessera("orgs", "create", "Acme", "--json", database_url=migrated, cwd=tmp_path))
    )
    for scopes in ("events:admin", "tickets:read", "events", "events:READ"):
        stderr = refused(
            tessera(
                "keys",
                "create",
                "--org",
                org["id"],
                "--name",
                "x",
                "--scopes",
                scopes,
                database_url=migrated,
                cwd=tmp_path,
            )
        )
        assert "scopes" in stderr
    keys = json.loads(
        ok(
            tessera(
                "keys", "list", "--org", org["id"], "--json", database_url=migrated, cwd=tmp_path
            )
        )
    )
    assert keys["data"] == []


def test_unknown_org_and_key(migrated: str, tmp_path: Path) -> None:
    missing = "org_AbCdEfGhJkMnPqRsTuVw"
    stderr = refused(
        tessera(
            "keys", "create", "--org", missing, "--name", "x", database_url=migrated, cwd=tmp_path
        )
    )
    assert missing in stderr
    assert missing in refused(
        tessera("keys", "list", "--org", missing, database_url=migrated, cwd=tmp_path)
    )
    assert "key_nope" in refused(
        tessera("keys", "revoke", "key_nope", database_url=migrated, cwd=tmp_path)
    )


def test_blank_org_name(migrated: str, tmp_path: Path) -> None:
    refused(tessera("orgs", "create", "  ", database_url=migrated, cwd=tmp_path))


def test_bad_database_url(tmp_path: Path) -> None:
    attempts = [
        ("mysql://x", ("db", "upgrade")),
        ("mysql://x", ("orgs", "create", "Acme")),
        ("mysql://x", ("demo",)),
        ("sqlite://", ("keys", "list", "--org", "org_x")),
        ("postgresql://", ("db", "upgrade")),
    ]
    for url, args in attempts:
        stderr = refused(tessera(*args, database_url=url, cwd=tmp_path))
        assert "TESSERA_DATABASE_URL" in stderr


def test_unmigrated_database_says_what_to_do(sqlite_url: str, tmp_path: Path) -> None:
    stderr = refused(tessera("orgs", "create", "Acme", database_url=sqlite_url, cwd=tmp_path))
    assert "tessera db upgrade" in stderr


def test_unopenable_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'x.db'}"
    for args in (("db", "upgrade"), ("orgs", "create", "Acme")):
        stderr = refused(tessera(*args, database_url=url, cwd=tmp_path))
        assert "TESSERA_DATABASE_URL" in stderr


def test_unreachable_postgresql(tmp_path: Path) -> None:
    url = "postgresql://postgres:hunter2@127.0.0.1:1/tessera"
    for args in (("db", "upgrade"), ("orgs", "create", "Acme")):
        stderr = refused(tessera(*args, database_url=url, cwd=tmp_path))
        assert "TESSERA_DATABASE_URL" in stderr
        assert "127.0.0.1:1" in stderr
        assert "hunter2" not in stderr  # error messages end up in logs


def test_postgresql(pg_url: str, tmp_path: Path) -> None:
    ok(tessera("db", "upgrade", database_url=pg_url, cwd=tmp_path))
    org = json.loads(
        ok(tessera("orgs", "create", "Acme", "--json", database_url=pg_url, cwd=tmp_path))
    )
    key = json.loads(
        ok(
            tessera(
                "keys",
                "create",
                "--org",
                org["id"],
                "--name",
                "ci",
                "--scopes",
                "events:write,attendees:read",
                "--json",
                database_url=pg_url,
                cwd=tmp_path,
            )
        )
    )
    assert key["key"].startswith("tsk_live_")
    listed = ok(tessera("keys", "list", "--org", org["id"], database_url=pg_url, cwd=tmp_path))
    assert key["id"] in listed and key["key"] not in listed
    ok(tessera("keys", "revoke", key["id"], database_url=pg_url, cwd=tmp_path))
    with app_client(pg_url, tmp_path) as client:
        response = client.get("/api/v1/events", headers={"X-API-KEY": key["key"]})
        assert response.status_code == 401


def test_pg_unmigrated_database_says_what_to_do(pg_url: str, tmp_path: Path) -> None:
    import asyncio
    import uuid

    import asyncpg

    name = f"tessera_cli_{uuid.uuid4().hex[:8]}"
    admin = pg_url.rsplit("/", 1)[0] + "/postgres"

    async def sql(statement: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(sql(f'CREATE DATABASE "{name}"'))
    try:
        url = pg_url.rsplit("/", 1)[0] + "/" + name
        stderr = refused(tessera("orgs", "create", "Acme", database_url=url, cwd=tmp_path))
        assert "tessera db upgrade" in stderr
    finally:
        asyncio.run(sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# --- demo against a running server -----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def server(sqlite_url: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"TESSERA_BASE_URL": base, "TESSERA_MAIL_DIR": str(tmp_path / "mail")}
    process = subprocess.Popen(
        [TESSERA, "serve", "--port", str(port)],
        env=environment(sqlite_url, **env),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"tessera serve did not start: {process.stderr}")
            time.sleep(0.1)
        yield {"base": base, "env": env}
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_demo_prints_a_working_curl(
    server: dict[str, Any], sqlite_url: str, tmp_path: Path
) -> None:
    output = ok(tessera("demo", database_url=sqlite_url, cwd=tmp_path, **server["env"]))
    curl = next(line for line in output.splitlines() if line.startswith("curl "))
    argv = shlex.split(curl)
    url = argv[-1]
    match = re.fullmatch(re.escape(server["base"]) + r"/api/v1/events/(\w{20})/attendees", url)
    assert match, url
    event_id = match.group(1)
    headers = dict(argv[i + 1].split(": ", 1) for i, arg in enumerate(argv) if arg == "-H")
    key = headers["X-API-KEY"]
    assert key.startswith("tsk_live_")
    assert headers["Content-Type"] == "application/json"
    # Runnable as printed: no shell substitutions a machine may lack (uuidgen).
    assert "$(" not in curl and "`" not in curl
    body = json.loads(argv[argv.index("-d") + 1])

    event = httpx.get(
        f"{server['base']}/api/v1/events/{event_id}", headers={"X-API-KEY": key}, timeout=10
    )
    assert event.status_code == 200, event.text
    classes = httpx.get(
        f"{server['base']}/api/v1/events/{event_id}/ticket-classes",
        headers={"X-API-KEY": key},
        timeout=10,
    ).json()["data"]
    assert body["ticket_class_id"] in {c["id"] for c in classes}

    result = subprocess.run(
        [*argv[:1], "-s", "-o", "/dev/stdout", "-w", "\n%{http_code}", *argv[1:]],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    response_body, _, status = result.stdout.rpartition("\n")
    if status in ("404", "405") and json.loads(response_body)["error"] in (
        "Not found",
        "Method not allowed",
    ):
        pytest.xfail("Create Attendee (POST .../attendees) is not built yet")
    assert status == "201", response_body
    created = json.loads(response_body)
    assert created["quantity"] == 2
    assert len(created["data"]) == 2
