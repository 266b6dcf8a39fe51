"""A Create Attendee load that runs through a database fault, and the checks that follow it.

Every request carries its own Idempotency-Key and its own contact email, so afterwards the
database can be asked, per key, how often it executed. The load runs in phases (before, during
and after the fault); every answer is kept with the phase it was sent in.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.concurrency.harness import Client, Cluster
from tests.faults.databases import ledger_problems

REQUEST_TIMEOUT = 15.0  # a request that takes longer than this "hangs": a failure
CONCURRENCY = 8


@dataclass
class Order:
    key: str
    email: str
    quantity: int
    phase: str
    status: int | None = None  # None: no HTTP answer (timeout, reset)
    body: Any = None
    transport_error: str | None = None
    seconds: float = 0.0
    final: int | None = None  # after the retries
    final_body: Any = None


@dataclass
class Load:
    cluster: Cluster
    event_id: str
    class_id: str
    orders: list[Order] = field(default_factory=list)
    phase: str = "before"
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    async def _worker(self, api: Client, number: int) -> None:
        sent = 0
        while not self._stop.is_set():
            order = Order(
                key=f"fault-{self._run}-{number}-{sent}",
                email=f"f{self._run}-{number}-{sent}@example.com",
                quantity=1 + sent % 3,
                phase=self.phase,
            )
            sent += 1
            self.orders.append(order)
            started = time.monotonic()
            try:
                response = await asyncio.wait_for(self._send(api, order), REQUEST_TIMEOUT)
            except (httpx.HTTPError, TimeoutError) as exc:
                order.transport_error = f"{type(exc).__name__}: {exc}"
            else:
                order.status = response.status_code
                order.body = _json(response)
            order.seconds = time.monotonic() - started
            if order.status is not None and order.status >= 500:
                await asyncio.sleep(0.05)  # a client backing off, as Retry-After asks

    async def _send(self, api: Client, order: Order) -> httpx.Response:
        return await api.create_attendees(
            self.event_id,
            self.class_id,
            order.email,
            quantity=order.quantity,
            idempotency_key=order.key,
        )

    @contextlib.asynccontextmanager
    async def running(self, api: Client) -> Any:
        tasks = [asyncio.create_task(self._worker(api, n)) for n in range(CONCURRENCY)]
        try:
            yield self
        finally:
            self._stop.set()
            await asyncio.gather(*tasks)

    async def wait_for_201(self, api: Client, timeout: float) -> float:
        """Seconds until a fresh request succeeds again (the server recovering by itself)."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            probe = Order(
                f"probe-{uuid.uuid4().hex}", f"p{uuid.uuid4().hex[:12]}@example.com", 1, "probe"
            )
            try:
                response = await asyncio.wait_for(self._send(api, probe), REQUEST_TIMEOUT)
            except (httpx.HTTPError, TimeoutError):
                response = None
            if response is not None and response.status_code == 201:
                self.orders.append(probe)
                probe.status, probe.body = 201, _json(response)
                return time.monotonic() - started
            await asyncio.sleep(0.1)
        raise AssertionError(f"no 201 within {timeout} s after the fault was lifted")

    async def settle(self, api: Client, timeout: float = 20.0) -> None:
        """Retry every order with its key until it has a definitive answer."""
        deadline = time.monotonic() + timeout
        for order in self.orders:
            if order.status in (201, 409):
                order.final, order.final_body = order.status, order.body
                continue
            while time.monotonic() < deadline:
                try:
                    response = await asyncio.wait_for(self._send(api, order), REQUEST_TIMEOUT)
                except (httpx.HTTPError, TimeoutError):
                    await asyncio.sleep(0.1)
                    continue
                if response.status_code in (201, 409, 422):
                    order.final, order.final_body = response.status_code, _json(response)
                    break
                await asyncio.sleep(0.1)

    # What the answers say ------------------------------------------------------------------
    def histogram(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for order in self.orders:
            code = order.body.get("code") if isinstance(order.body, dict) else None
            label = str(order.status) if order.status else "no answer"
            counts[
                f"{order.phase} {label}{' ' + code if code and order.status != 201 else ''}"
            ] += 1
        return dict(sorted(counts.items()))

    def answer_problems(self) -> list[str]:
        """Answers outside the contract: 5xx other than a shaped 503, hangs, odd bodies."""
        problems = []
        for order in self.orders:
            if order.status is None:
                problems.append(f"{order.key} ({order.phase}): no answer: {order.transport_error}")
                continue
            if order.status in (201, 409):
                continue
            body = order.body
            shaped = (
                isinstance(body, dict)
                and isinstance(body.get("error"), str)
                and isinstance(body.get("code"), str)
            )
            if order.status != 503 or not shaped:
                problems.append(f"{order.key} ({order.phase}): {order.status} {body}")
            elif body["code"] != "service_unavailable":
                problems.append(f"{order.key} ({order.phase}): 503 with code {body['code']}")
        return problems

    async def books_problems(self, api: Client) -> list[str]:
        """After settling: each key executed exactly once, readable, and the books balance."""
        problems = list(await ledger_problems(self.cluster))
        unsettled = [o.key for o in self.orders if o.final is None and o.phase != "probe"]
        if unsettled:
            problems.append(f"{len(unsettled)} keys never settled, e.g. {unsettled[:3]}")
        async with self.cluster.inspect() as db:
            per_email = {
                row["email"]: row["payments"]
                for row in await db.fetch(
                    "SELECT c.email, count(p.id) AS payments FROM contacts c"
                    " LEFT JOIN payments p ON p.contact_id = c.id GROUP BY c.email"
                )
            }
        for order in self.orders:
            executed = per_email.get(order.email, 0)
            expected = 1 if order.final == 201 or (order.phase == "probe") else 0
            if executed != expected:
                problems.append(
                    f"{order.key}: executed {executed} times, answered {order.final}"
                    f" (first answer {order.status})"
                )
        committed = [
            (order.key, order.final_body if order.final == 201 else order.body)
            for order in self.orders
            if order.final == 201 or (order.phase == "probe" and order.status == 201)
        ]
        gate = asyncio.Semaphore(16)

        async def readable(key: str, body: dict[str, Any]) -> str | None:
            async with gate:
                payment = await api.request("GET", f"/api/v1/payments/{body['payment_id']}")
            if payment.status_code != 200:
                return f"{key}: committed payment unreadable: {payment.text}"
            issued = sorted(attendee["id"] for attendee in body["data"])
            if sorted(payment.json()["data"]["ticket_ids"]) != issued:
                return f"{key}: payment tickets {payment.text} != {issued}"
            return None

        found = await asyncio.gather(*(readable(key, body) for key, body in committed))
        return problems + [problem for problem in found if problem]


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:300]
