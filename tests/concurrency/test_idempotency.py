"""Idempotency keys under real concurrency (SPEC §2): one key, one execution, across processes.

Twenty identical requests with one Idempotency-Key race across the server processes: exactly one
executes; every other answer is either a verbatim replay of its 201 or the in-progress 409.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.concurrency.harness import Client, Cluster, describe, server_errors

pytestmark = pytest.mark.slow

RACERS = 20
QUANTITY = 25  # a longer transaction: more requests arrive while it runs


def _is_replay(response: httpx.Response) -> bool:
    return response.headers.get("idempotent-replay") == "true"


def _check_race(responses: list[httpx.Response]) -> httpx.Response:
    """Every answer is the one execution's 201, its replay, or the in-progress 409."""
    assert not server_errors(responses), server_errors(responses)
    created = [r for r in responses if r.status_code == 201]
    executed = [r for r in created if not _is_replay(r)]
    assert len(executed) == 1, f"{len(executed)} executions answered: {describe(responses)}"
    original = executed[0]
    assert "idempotent-replay" not in original.headers  # the marker is only on replays
    for response in responses:
        if response is original:
            continue
        if response.status_code == 201:
            assert _is_replay(response), response.headers
            assert response.content == original.content  # byte-identical body
            assert response.headers["content-type"] == original.headers["content-type"]
        else:
            assert response.status_code == 409, describe(responses)
            assert response.json() == {
                "error": "idempotent_request_in_progress",
                "code": "idempotent_request_in_progress",
            }, response.text
            assert response.headers.get("retry-after") == "1", response.headers
            assert not _is_replay(response)
    return original


def test_one_key_executes_once(cluster: Cluster) -> None:
    asyncio.run(_one_key(cluster))


async def _one_key(cluster: Cluster) -> None:
    async with Client(cluster) as api:
        event = await api.make_event()
        tc = await api.make_class(event["id"], "Door")
        await api.warm(RACERS // len(cluster.urls))
        responses = list(
            await asyncio.gather(
                *(
                    api.create_attendees(
                        event["id"],
                        tc["id"],
                        "once@example.com",
                        route=i,
                        quantity=QUANTITY,
                        idempotency_key="order-7f3a-once",
                    )
                    for i in range(RACERS)
                )
            )
        )
        original = _check_race(responses)

        # Once settled, every process replays the same bytes.
        later = await asyncio.gather(
            *(
                api.create_attendees(
                    event["id"],
                    tc["id"],
                    "once@example.com",
                    route=i,
                    quantity=QUANTITY,
                    idempotency_key="order-7f3a-once",
                )
                for i in range(len(cluster.urls))
            )
        )
        for response in later:
            assert response.status_code == 201 and _is_replay(response), response.text
            assert response.content == original.content

    body = original.json()
    async with cluster.inspect() as db:
        payments = await db.fetch(
            "SELECT id, quantity FROM payments WHERE event_id = $1", event["id"]
        )
        tickets = await db.fetch(
            "SELECT id, payment_id FROM tickets WHERE event_id = $1", event["id"]
        )
        stored = await db.fetchval(
            "SELECT count(*) FROM idempotency_keys WHERE api_key_id = $1 AND key = $2",
            cluster.keys[0].id,
            "order-7f3a-once",
        )
        books = await db.event_books(event["id"])
    assert payments == [{"id": body["payment_id"], "quantity": QUANTITY}]
    assert sorted(t["id"] for t in tickets) == sorted(t["id"] for t in body["data"])
    assert {t["payment_id"] for t in tickets} == {body["payment_id"]}
    assert stored == 1
    assert books["tickets_sold"] == books["event_rows"] == QUANTITY


def test_same_key_value_under_two_api_keys_executes_twice(cluster: Cluster) -> None:
    asyncio.run(_two_api_keys(cluster))


async def _two_api_keys(cluster: Cluster) -> None:
    first = cluster.keys[0]
    second = cluster.new_key()  # same organization
    async with Client(cluster) as api:
        event = await api.make_event()
        tc = await api.make_class(event["id"], "Door")
        await api.warm(RACERS // len(cluster.urls))
        # Interleaved: request i uses key i % 2 and server (i // 2) % n, same body, same value.
        responses = list(
            await asyncio.gather(
                *(
                    api.create_attendees(
                        event["id"],
                        tc["id"],
                        "twice@example.com",
                        route=i // 2,
                        quantity=QUANTITY,
                        idempotency_key="shared-value",
                        key=(first, second)[i % 2].key,
                    )
                    for i in range(RACERS)
                )
            )
        )

    originals = [_check_race(responses[k::2]) for k in (0, 1)]
    payment_ids = {o.json()["payment_id"] for o in originals}
    assert len(payment_ids) == 2, "two API keys are two unrelated idempotency keys"

    async with cluster.inspect() as db:
        payments = await db.fetch("SELECT id FROM payments WHERE event_id = $1", event["id"])
        tickets = await db.fetchval("SELECT count(*) FROM tickets WHERE event_id = $1", event["id"])
        contacts = await db.fetchval(
            "SELECT count(*) FROM contacts WHERE organization_id = $1 AND email = $2",
            cluster.org_id,
            "twice@example.com",
        )
        stored = await db.fetch(
            "SELECT api_key_id FROM idempotency_keys WHERE key = $1", "shared-value"
        )
        books = await db.event_books(event["id"])
    assert {p["id"] for p in payments} == payment_ids
    assert tickets == 2 * QUANTITY
    assert contacts == 1  # both executions upserted the one contact
    assert sorted(s["api_key_id"] for s in stored) == sorted([first.id, second.id])
    assert books["tickets_sold"] == books["event_rows"] == 2 * QUANTITY
