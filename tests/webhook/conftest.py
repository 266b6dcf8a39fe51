"""Fixtures for webhook tests: a real receiver on a loopback port and a tenant that registers
endpoints. Signatures are checked with the standardwebhooks library, never with Tessera's code."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import ApiClient, Tenant
from tests.webhook.receiver import Receiver

PATH = "/api/v1/webhook-endpoints"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def acme(api: ApiClient) -> Tenant:
    return api.tenant("Acme")


def register(tenant: Tenant, url: str, **fields: Any) -> dict[str, Any]:
    """A new endpoint, as the create response shows it (with its secret)."""
    response = tenant.post(PATH, {"url": url, **fields})
    assert response.status_code == 201, response.text
    endpoint: dict[str, Any] = response.json()["data"]
    return endpoint


def outbox_rows(api: ApiClient) -> list[dict[str, Any]]:
    async def work(conn: Any) -> list[dict[str, Any]]:
        rows = await conn.fetch(
            "SELECT id, kind, topic, status, attempts, ordering_key, next_attempt_at"
            " FROM outbox WHERE kind = 'webhook' ORDER BY id"
        )
        return [dict(row) for row in rows]

    result: list[dict[str, Any]] = api.run(work)
    return result


def deliveries(tenant: Tenant, endpoint_id: str, **params: Any) -> list[dict[str, Any]]:
    response = tenant.get(f"{PATH}/{endpoint_id}/deliveries", params=params)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["data"]
    return found
