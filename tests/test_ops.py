"""Operating it (SPEC §7): health, readiness, OpenAPI and docs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient

from tessera import migrate
from tessera.app import create_app
from tessera.config import Settings
from tests.support import ApiClient


@contextmanager
def client_for(database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        database_url=database_url,
        mail_dir=tmp_path / "mail",
        rate_limit_per_minute=0,
        access_log=False,
        worker_in_process=False,
        _env_file=None,  # type: ignore[call-arg]
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def test_healthz(api: ApiClient) -> None:
    response = api.client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.headers["x-request-id"]


def test_readyz_when_migrated(api: ApiClient) -> None:
    response = api.client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert body["migration"] == migrate.head_revision()


def test_readyz_on_an_unmigrated_sqlite_file(tmp_path: Path) -> None:
    with client_for(f"sqlite:///{tmp_path / 'empty.db'}", tmp_path) as client:
        response = client.get("/readyz")
        assert response.status_code == 503
        body = response.json()
        assert body["code"] == "migrations_pending"
        assert "tessera db upgrade" in body["error"]
        assert body["expected_migration"] == migrate.head_revision()
        # The process itself is up.
        assert client.get("/healthz").status_code == 200


def test_readyz_on_a_database_behind_the_head(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    scripts = ScriptDirectory.from_config(migrate.alembic_config(url))
    first = list(scripts.walk_revisions())[-1].revision
    command.upgrade(migrate.alembic_config(url), first)
    with client_for(url, tmp_path) as client:
        response = client.get("/readyz")
        if first == migrate.head_revision():  # only one migration so far: nothing is behind
            assert response.status_code == 200
            return
        assert response.status_code == 503
        assert response.json()["migration"] == first


def test_readyz_when_postgresql_is_unreachable(tmp_path: Path) -> None:
    # Port 1 on loopback: connection refused at once.
    with client_for("postgresql://postgres@127.0.0.1:1/tessera", tmp_path) as client:
        response = client.get("/readyz")
        assert response.status_code == 503
        body = response.json()
        assert body["error"]
        assert body["code"] == "database_unreachable"
        assert client.get("/healthz").status_code == 200
        api_response = client.get("/api/v1/events", headers={"X-API-KEY": "tsk_live_x"})
        assert api_response.status_code == 503
        assert api_response.json()["code"] == "service_unavailable"


def test_openapi_is_3_1_and_lists_the_api(api: ApiClient) -> None:
    response = api.client.get("/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["openapi"].startswith("3.1")
    paths = spec["paths"]
    assert {"post", "get"} <= set(paths["/api/v1/events"])
    assert {"get", "patch"} <= set(paths["/api/v1/events/{event_id}"])
    assert {"get", "post"} <= set(paths["/api/v1/events/{event_id}/ticket-classes"])
    assert {"get", "patch", "delete"} <= set(
        paths["/api/v1/events/{event_id}/ticket-classes/{class_id}"]
    )
    create = spec["components"]["schemas"]["EventCreate"]
    assert {"name", "start", "location"} <= set(create["required"])


def test_docs_serve_html(api: ApiClient) -> None:
    response = api.client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in response.text


def test_access_log_is_one_json_line_per_request(
    tmp_path: Path, sqlite_template: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import json
    import shutil

    path = tmp_path / "logged.db"
    shutil.copy(sqlite_template, path)
    settings = Settings(
        database_url=f"sqlite:///{path}",
        mail_dir=tmp_path / "mail",
        rate_limit_per_minute=0,
        access_log=True,
        worker_in_process=False,
        _env_file=None,  # type: ignore[call-arg]
    )
    with (
        caplog.at_level(logging.INFO, logger="tessera.access"),
        TestClient(create_app(settings)) as client,
    ):
        client.get("/api/v1/events", headers={"X-Request-Id": "log-me"})
    records = [json.loads(r.getMessage()) for r in caplog.records if r.name == "tessera.access"]
    assert len(records) == 1
    record = records[0]
    assert record["request_id"] == "log-me"
    assert record["method"] == "GET"
    assert record["path"] == "/api/v1/events"
    assert record["status"] == 401
    assert isinstance(record["duration_ms"], float | int)
    assert "X-API-KEY" not in json.dumps(record)
