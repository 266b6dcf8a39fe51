"""Rate limits (SPEC §1): per API key, per IP without one, shared through real Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tessera.app import create_app
from tessera.config import Settings
from tessera.ratelimit.limiter import LocalStore, _decide
from tests.support import ApiClient, FakeClock

REDIS_URL = "redis://127.0.0.1:6379/0"


def limited_api(settings: Settings, clock: FakeClock, **update: Any) -> TestClient:
    return TestClient(create_app(settings.model_copy(update=update), clock=clock))


@pytest.fixture
def five_per_minute(settings: Settings, clock: FakeClock) -> Iterator[ApiClient]:
    with limited_api(settings, clock, rate_limit_per_minute=5) as client:
        yield ApiClient(client)


def test_limit_per_key_with_headers_and_429(five_per_minute: ApiClient) -> None:
    acme = five_per_minute.tenant()
    remaining = []
    for _ in range(5):
        response = acme.get("/api/v1/events")
        assert response.status_code == 200
        assert response.headers["ratelimit-limit"] == "5"
        assert int(response.headers["ratelimit-reset"]) >= 1
        remaining.append(int(response.headers["ratelimit-remaining"]))
    assert remaining == [4, 3, 2, 1, 0]
    refused = acme.get("/api/v1/events")
    assert refused.status_code == 429
    assert refused.json() == {
        "error": "Rate limit exceeded. Try again shortly.",
        "code": "rate_limited",
    }
    assert 1 <= int(refused.headers["retry-after"]) <= 12
    assert refused.headers["ratelimit-remaining"] == "0"
    assert "x-request-id" in refused.headers
    # another key of the same organization has its own budget
    assert acme.new_key().get("/api/v1/events").status_code == 200


def test_every_api_response_carries_the_headers(five_per_minute: ApiClient) -> None:
    acme = five_per_minute.tenant()
    client = five_per_minute.client
    for response in (
        acme.get("/api/v1/events/missing"),  # 404
        client.get("/api/v1/events"),  # 401 without a key
        acme.post("/api/v1/events", {"bogus": 1}),  # 400
        client.post(
            "/api/v1/events",
            content=b"x",
            headers={"X-API-KEY": acme.key, "Content-Type": "text/plain"},
        ),  # 415
    ):
        assert "ratelimit-limit" in response.headers, response.status_code
        assert "ratelimit-remaining" in response.headers
        assert "ratelimit-reset" in response.headers
    assert "ratelimit-limit" not in client.get("/healthz").headers


def test_without_a_key_the_limit_is_per_ip(five_per_minute: ApiClient) -> None:
    client = five_per_minute.client
    statuses = [client.get("/api/v1/events").status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]


def test_zero_turns_limits_off(api: ApiClient) -> None:
    acme = api.tenant()
    response = acme.get("/api/v1/events")
    assert "ratelimit-limit" not in response.headers


def test_budget_refills_smoothly() -> None:
    now = [1000.0]
    store = LocalStore(clock=lambda: now[0])

    def hit() -> bool:
        return asyncio.run(store.hit("k", 60)).allowed

    assert all(hit() for _ in range(60))
    assert not hit()
    now[0] += 1.0  # one interval (60 s / 60)
    assert hit()
    assert not hit()


def test_gcra_allows_a_burst_then_the_steady_rate() -> None:
    tat, allowed_at = 0.0, []
    for step in range(1200):  # 10 requests per second for two minutes, limit 100 per minute
        ok, tat, _ = _decide(tat, step / 10, 100)
        if ok:
            allowed_at.append(step / 10)
    assert len([t for t in allowed_at if t < 1]) == 10  # the full burst is available at once
    assert len(allowed_at) <= 100 + 200  # the burst plus 120 s of refill at 100 per minute
    second_minute = [t for t in allowed_at if 60 <= t < 120]
    assert 99 <= len(second_minute) <= 101  # steady state: the limit per minute


def test_redis_shares_one_limit_between_processes(settings: Settings, clock: FakeClock) -> None:
    redis_settings = settings.model_copy(
        update={"rate_limit_per_minute": 6, "redis_url": REDIS_URL}
    )
    key_header = {"X-API-KEY": f"tsk_live_{uuid.uuid4().hex}"}  # a fresh bucket per run
    with (
        TestClient(create_app(redis_settings, clock=clock)) as one,
        TestClient(create_app(redis_settings, clock=clock)) as two,
    ):
        statuses = [
            (one if i % 2 else two).get("/api/v1/events", headers=key_header).status_code
            for i in range(10)
        ]
    assert statuses.count(401) == 6  # unknown key, but counted first
    assert statuses.count(429) == 4


def test_redis_down_falls_back_to_limiting_per_process(
    settings: Settings, clock: FakeClock
) -> None:
    down = settings.model_copy(
        update={"rate_limit_per_minute": 3, "redis_url": "redis://127.0.0.1:1/0"}
    )
    with TestClient(create_app(down, clock=clock)) as client:
        statuses = [client.get("/api/v1/events").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]


def test_a_replay_carries_fresh_rate_limit_headers(five_per_minute: ApiClient) -> None:
    acme = five_per_minute.tenant()
    body = {
        "name": "Launch",
        "location": "Hall",
        "start": {"utc": "2027-01-01T10:00", "timezone": "Europe/Berlin"},
    }
    first = acme.post("/api/v1/events", body, headers={"Idempotency-Key": "k"})
    replay = acme.post("/api/v1/events", body, headers={"Idempotency-Key": "k"})
    assert replay.headers["idempotent-replay"] == "true"
    assert replay.content == first.content
    assert (
        int(replay.headers["ratelimit-remaining"]) == int(first.headers["ratelimit-remaining"]) - 1
    )
    assert replay.headers["x-request-id"] != first.headers["x-request-id"]
