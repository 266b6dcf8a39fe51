"""SPEC §11: ``GET /metrics`` in the Prometheus text format when ``TESSERA_METRICS=true``, 404
otherwise; correct across ``--workers`` (every process's figures, whichever process answers).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tessera.app import create_app
from tessera.config import Settings
from tests.concurrency.harness import Cluster
from tests.serve.conftest import Launch, children
from tests.support import ApiClient

CREATE_ROUTE = "/api/v1/events/{event_id}/attendees"


def scrape(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample as (name, sorted labels) → value."""
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_are_off_by_default(api: ApiClient) -> None:
    response = api.client.get("/metrics")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.fixture
def metered(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"metrics": True}))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_one_process_reports_route_templates_and_the_outbox(metered: TestClient) -> None:
    metered.get("/api/v1/events/evt_doesnotexist", headers={"X-API-KEY": "tsk_live_nope"})
    metered.get("/no/such/path/evt_123")
    response = metered.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = scrape(response.text)
    assert (
        value(
            samples,
            "tessera_http_requests_total",
            method="GET",
            route="/api/v1/events/{event_id}",
            status="401",
        )
        >= 1
    )
    assert (
        value(samples, "tessera_http_requests_total", method="GET", route="unmatched", status="404")
        >= 1
    )
    assert "evt_" not in "".join(str(labels) for _name, labels in samples)
    for kind in ("email", "webhook"):
        assert ("tessera_outbox_depth", (("kind", kind),)) in samples
        assert ("tessera_outbox_oldest_age_seconds", (("kind", kind),)) in samples
    assert ("tessera_db_pool_in_use", ()) in samples


@pytest.mark.slow
def test_two_workers_add_up(launch: Launch, tmp_path: Path) -> None:
    cluster = launch(processes=[2], metrics="true")
    asyncio.run(_two_workers(cluster))


async def _two_workers(cluster: Cluster) -> None:
    creates, check_ins = 48, 10
    run = uuid.uuid4().hex[:8]
    headers = {"X-API-KEY": cluster.key}
    # No keep-alive: each request a new connection, so both workers take a share.
    fresh = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=cluster.urls[0], headers=headers, limits=fresh) as http:
        event = (
            await http.post(
                "/api/v1/events",
                json={
                    "name": "M",
                    "start": {"utc": "2027-07-15T18:00", "timezone": "UTC"},
                    "location": "Hall",
                },
            )
        ).json()["data"]
        tc = (
            await http.post(f"/api/v1/events/{event['id']}/ticket-classes", json={"name": "G"})
        ).json()["data"]

        async def create(i: int) -> httpx.Response:
            return await http.post(
                f"/api/v1/events/{event['id']}/attendees",
                json={
                    "ticket_class_id": tc["id"],
                    "contact": {"email": f"m-{run}-{i}@example.com"},
                    "quantity": 1 + i % 3,
                },
            )

        made = await asyncio.gather(*(create(i) for i in range(creates)))
        assert all(r.status_code == 201 for r in made), [r.text for r in made][:3]
        tickets = sum(r.json()["quantity"] for r in made)
        barcodes = [r.json()["data"][0]["barcode"] for r in made[:check_ins]]
        scans = await asyncio.gather(
            *(
                http.post(f"/api/v1/events/{event['id']}/check-ins", json={"barcode": b})
                for b in barcodes
            )
        )
        assert all(r.status_code == 200 for r in scans), [r.text for r in scans][:3]
        scrapes = [scrape((await http.get("/metrics")).text) for _ in range(6)]

    for samples in scrapes:  # whichever worker answered, the totals are everyone's
        assert (
            value(
                samples,
                "tessera_http_requests_total",
                method="POST",
                route=CREATE_ROUTE,
                status="201",
            )
            == creates
        )
        assert (
            value(
                samples,
                "tessera_http_request_duration_seconds_count",
                method="POST",
                route=CREATE_ROUTE,
            )
            == creates
        )
        assert value(samples, "tessera_tickets_issued_total") == tickets
        assert value(samples, "tessera_check_ins_total") == check_ins
        assert value(samples, "tessera_db_pool_connections") >= 2  # both processes' pools
        labels = "".join(str(labels) for _name, labels in samples)
        assert "evt_" not in labels and "tkt_" not in labels

    # Both workers recorded some of it: each has its own files in the directory they share.
    supervisor = cluster.servers[0].proc
    assert supervisor is not None
    workers = children(supervisor.pid)
    environ = Path(f"/proc/{workers[0]}/environ").read_bytes().split(b"\0")
    directory = next(e for e in environ if e.startswith(b"PROMETHEUS_MULTIPROC_DIR="))
    files = list(Path(directory.split(b"=", 1)[1].decode()).glob("counter_*.db"))
    assert {f.name for f in files} == {f"counter_{pid}.db" for pid in workers}


def test_the_defaults_deliver_in_every_process_and_keep_metrics_off(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert defaults.worker_in_process is True
    assert defaults.metrics is False
    assert defaults.metrics_dir is None
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    assert Settings(_env_file=None).metrics_dir == tmp_path  # type: ignore[call-arg]


def test_outbox_gauges_count_due_rows_not_rows_scheduled_for_later(
    metered: TestClient, settings: Settings
) -> None:
    """A waitlist offer's expiry sits in the outbox until the offer ends (48 h): it is scheduled,
    not waiting, so it neither adds to the depth nor ages the oldest row until it falls due."""
    api = ApiClient(metered)
    now = api.now()
    hour = 3_600_000_000

    async def queue(conn: Any) -> None:
        for due in (now + 48 * hour, now - 2 * hour):  # scheduled for later; due two hours ago
            await conn.execute(
                "INSERT INTO outbox (organization_id, kind, topic, payload, ordering_key,"
                " status, attempts, next_attempt_at, created_at)"
                " VALUES ('org_probe', 'probe', 'probe.topic', '{}', NULL, 'pending', 0, $1, $2)",
                due,
                now - 3 * hour,
            )

    api.run(queue)
    samples = scrape(metered.get("/metrics").text)
    assert value(samples, "tessera_outbox_depth", kind="probe") == 1
    age = value(samples, "tessera_outbox_oldest_age_seconds", kind="probe")
    assert 2 * 3600 - 60 < age < 2 * 3600 + 60  # waiting since it fell due, not since queued
