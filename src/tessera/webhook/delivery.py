"""Delivering one queued webhook message: sign, POST, record the attempt, decide what next.

Runs only in the outbox worker, never in a request, and the worker delivers rows concurrently,
each under a timeout: a slow or dead endpoint delays neither API requests nor other endpoints.

Outcomes of an attempt:
- 2xx: delivered.
- 410 Gone: the receiver asks us to stop; the endpoint is disabled and nothing is retried.
- any other status, a connection error, a timeout: retried on :data:`POLICY` (first retry
  after ~5 s, the last more than 24 h after the first attempt).
- endpoint deleted or disabled, or its host now resolves to a private address: failed, not
  retried.

Every attempt (and every message dropped because its endpoint was disabled) is a row in
``webhook_deliveries``. The handler chooses the retry time itself and hands it to the worker, so
the ``next_attempt_at`` it records is the one the worker keeps.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass
from functools import cache
from typing import Any

import httpx

from tessera.config import Settings
from tessera.db import Connection, Database, Row
from tessera.kit import ids, jsonutil
from tessera.kit.clock import Clock, system_clock
from tessera.outbox.worker import SECOND, DeliveryError, Handler, Message, RetryPolicy
from tessera.webhook import destination, repository, signing

ATTEMPT_TIMEOUT = 10.0  # seconds for one attempt, DNS to response status
# Seconds after attempt 1, 2, …: the first retry within 30 s, then exponential; with the ±20 %
# jitter of RetryPolicy even the shortest schedule spans more than 24 h (≈ 31.7 h nominal).
POLICY_DELAYS = (5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 28800, 28800)
USER_AGENT = "Tessera-Webhooks/1"


def policy(timeout: float = ATTEMPT_TIMEOUT) -> RetryPolicy:
    # The worker's own limit is a backstop: the handler times out first and records why.
    return RetryPolicy(delays=POLICY_DELAYS, timeout=timeout + 20)


@cache
def _tls() -> ssl.SSLContext:
    # Built once: loading the CA bundle costs milliseconds, too much for every attempt. No
    # environment (SSL_CERT_FILE, proxies): deliveries go straight to the checked address.
    return httpx.create_ssl_context(trust_env=False)


@dataclass(slots=True)
class Attempt:
    status: str  # succeeded | failed
    response_status: int | None = None
    duration_ms: int | None = None
    error: str | None = None
    permanent: bool = False
    disable: bool = False


def _secrets(endpoint: Row, now: int) -> list[str]:
    in_use = [endpoint["secret"]]
    expires = endpoint["previous_secret_expires_at"]
    if endpoint["previous_secret"] and expires is not None and expires > now:
        in_use.append(endpoint["previous_secret"])
    return in_use


async def post(
    target: destination.Target, body: bytes, headers: dict[str, str], timeout: float
) -> int:
    """POST without following redirects; the status code only (the body is never read)."""
    async with (
        httpx.AsyncClient(
            timeout=timeout, follow_redirects=False, verify=_tls(), trust_env=False
        ) as client,
        client.stream(
            "POST",
            target.url,
            content=body,
            headers={**headers, **target.headers},
            extensions=target.extensions,
        ) as response,
    ):
        return response.status_code


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class _Sender:
    def __init__(self, db: Database, clock: Clock, allow_private: bool, timeout: float) -> None:
        self.db = db
        self.clock = clock
        self.allow_private = allow_private
        self.timeout = timeout
        self.policy = policy(timeout)

    async def deliver(self, message: Message) -> None:
        payload: dict[str, Any] = message.payload
        endpoint_id: str = payload["endpoint_id"]
        # Stable for the message (every retry), kept by redeliver: receivers dedupe on it.
        webhook_id: str = payload.get("webhook_id") or f"msg_{message.id}"
        async with self.db.reader() as conn:
            endpoint = await repository.get(conn, message.organization_id, endpoint_id)
        if endpoint is None:
            raise DeliveryError("webhook endpoint deleted", permanent=True)
        if not endpoint["enabled"]:
            attempt = Attempt("failed", error="endpoint disabled: not sent", permanent=True)
        else:
            attempt = await self._attempt(endpoint, webhook_id, payload["body"])
        await self._finish(message, endpoint, webhook_id, attempt)

    async def _attempt(self, endpoint: Row, webhook_id: str, body_object: Any) -> Attempt:
        body = jsonutil.dumps(body_object)
        # Wall time, not the injected clock: the receiver compares it with its own clock to
        # reject replayed messages (Standard Webhooks allows five minutes).
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": webhook_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signing.signature_header(
                _secrets(endpoint, self.clock()), webhook_id, timestamp, body
            ),
        }
        url: str = endpoint["url"]
        started = time.perf_counter()

        def elapsed() -> int:
            return round((time.perf_counter() - started) * 1000)

        try:
            async with asyncio.timeout(self.timeout):
                target = destination.Target(url)
                if not self.allow_private:
                    addresses = await destination.public_addresses(url)
                    target = destination.pinned(url, addresses[0])
                status = await post(target, body, headers, self.timeout)
        except destination.Refused as exc:
            return Attempt("failed", error=f"refused: {exc}", permanent=True)
        except (TimeoutError, httpx.TimeoutException):
            return Attempt(
                "failed", duration_ms=elapsed(), error=f"timed out after {self.timeout:g} s"
            )
        except Exception as exc:  # refused connection, TLS, protocol: recorded and retried
            return Attempt("failed", duration_ms=elapsed(), error=_describe(exc))
        if 200 <= status < 300:
            return Attempt("succeeded", response_status=status, duration_ms=elapsed())
        if status == 410:
            return Attempt(
                "failed",
                response_status=status,
                duration_ms=elapsed(),
                error="410 Gone: the endpoint was disabled",
                permanent=True,
                disable=True,
            )
        return Attempt(
            "failed", response_status=status, duration_ms=elapsed(), error=f"HTTP {status}"
        )

    async def _finish(
        self, message: Message, endpoint: Row, webhook_id: str, attempt: Attempt
    ) -> None:
        now = self.clock()
        delay = None
        if attempt.status == "failed" and not attempt.permanent:
            delay = self.policy.next_delay(message.attempt)
        retry_at = None if delay is None else now + int(delay * SECOND)
        organization_id = message.organization_id

        async def record(conn: Connection) -> None:
            await repository.insert_delivery(
                conn,
                organization_id,
                {
                    "id": ids.webhook_delivery_id(),
                    "endpoint_id": endpoint["id"],
                    "outbox_id": message.id,
                    "webhook_id": webhook_id,
                    "event_type": message.topic,
                    "attempt": message.attempt,
                    "status": attempt.status,
                    "response_status": attempt.response_status,
                    "duration_ms": attempt.duration_ms,
                    "error": attempt.error,
                    "next_attempt_at": retry_at,
                    "created_at": now,
                },
            )
            if attempt.disable:
                await repository.disable(conn, organization_id, endpoint["id"], now)

        await self.db.run(record)
        if attempt.status == "failed":
            raise DeliveryError(
                attempt.error or "failed", permanent=retry_at is None, retry_at=retry_at
            )


def build_handler(
    settings: Settings,
    db: Database,
    *,
    clock: Clock = system_clock,
    timeout: float = ATTEMPT_TIMEOUT,
) -> Handler:
    """The outbox handler for ``kind = "webhook"`` rows."""
    sender = _Sender(db, clock, settings.webhook_allow_private, timeout)
    return Handler(sender.deliver, sender.policy)
