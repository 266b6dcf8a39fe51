"""The edge tells whether the process is serving requests (one in flight, or one ended a moment
ago), so background work in the process (the outbox worker) can step aside meanwhile."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tessera.edge import IN_FLIGHT, Edge
from tests.support import ApiClient


def test_a_request_counts_while_it_is_served_and_not_after() -> None:
    seen: list[bool] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(IN_FLIGHT.busy())
        if scope["path"] == "/boom":
            raise RuntimeError("a bug")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    edge = Edge(app, log_requests=False)

    async def call(path: str, method: str = "GET", headers: Any = ()) -> int:
        sent: list[Any] = []

        async def receive() -> Any:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Any) -> None:
            sent.append(message)

        scope = {"type": "http", "method": method, "path": path, "headers": list(headers)}
        await edge(scope, receive, send)
        return int(sent[0]["status"])

    async def run() -> list[int]:
        return [
            await call("/fine"),
            await call("/boom"),  # a 500 answered by the edge
            await call(  # refused by the edge itself: the body is too large
                "/api/v1/x",
                "POST",
                [(b"content-type", b"application/json"), (b"content-length", b"99999999")],
            ),
        ]

    statuses = asyncio.run(run())
    assert statuses == [200, 500, 413]
    assert seen == [True, True]  # the app ran for the first two, each counted while served
    assert IN_FLIGHT.count == 0  # every way out gave its count back
    assert IN_FLIGHT.busy()  # still serving: a request ended a moment ago (SQLite's gaps)
    time.sleep(IN_FLIGHT.QUIET_SECONDS)
    assert not IN_FLIGHT.busy()


def test_the_api_leaves_no_request_counted(api: ApiClient) -> None:
    tenant = api.tenant()
    tenant.make_event()
    api.client.get("/api/v1/events", headers={"X-API-KEY": "wrong"})
    assert IN_FLIGHT.count == 0
