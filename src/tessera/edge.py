"""The edge: the one ASGI callable in front of the router, for every request.

In order, before any endpoint sees a request: headers over 8 KiB each or 32 KiB together →
431; the rate limit on ``/api/`` (429 with ``Retry-After``; ``RateLimit-*`` headers on every API
response, errors included); NUL characters in the path or query → 404/400; the body read whole
and guarded (over 1 MiB → 413, not JSON on the API → 415); then the API key of every
``/api/v1`` request (401; tessera.auth.request). The request is then served: a hot route
(tessera.fast_path) straight from here, found by method and path; anything else by FastAPI's
router. Whatever the route raised is answered here (tessera.exception_handlers; anything
unexpected is a JSON 500), and every answer, served or refused, leaves with an
``X-Request-Id``, the security headers and the rate-limit headers, one structured access-log
line and its metrics.

It is the whole middleware stack (:class:`EdgeApp`): no Starlette middleware wraps ``send``
around it, and it wraps ``send`` once, only for the router's responses; its own answers and the
hot routes' carry their headers from the start.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from fastapi import FastAPI, Response
from starlette.routing import Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tessera.auth.request import API_PREFIX, authenticate
from tessera.db import Database
from tessera.errors import (
    BadRequest,
    HeadersTooLarge,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    UnsupportedMediaType,
)
from tessera.exception_handlers import INTERNAL_ERROR, error_response
from tessera.fast_path import HotRoutes
from tessera.kit import ids
from tessera.kit.clock import Clock, system_clock
from tessera.kit.http import json_response
from tessera.kit.jsonutil import dumps
from tessera.metrics.record import Recorder, route_template
from tessera.ratelimit.policy import RateLimiter

MAX_BODY = 1024 * 1024
# The HTTP server (httptools) accepts headers of any size; common proxies stop at 8 KiB a line.
MAX_HEADER = 8 * 1024
MAX_HEADERS = 32 * 1024
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# SPEC §10: the attendee import takes a CSV body of up to 5 MiB; every other body is JSON.
_CSV_UPLOAD = re.compile(r"^/api/v1/events/[^/]+/attendees/import$")
MAX_CSV_BODY = 5 * 1024 * 1024
_CSV_TYPES = frozenset(
    {"text/csv", "application/csv", "text/x-csv", "text/plain", "application/vnd.ms-excel"}
)

access_log = logging.getLogger("tessera.access")
error_log = logging.getLogger("tessera.errors")

# Baseline headers for responses that set none of their own: no content sniffing anywhere, and
# HTML (the /docs page; the ticket page sets stricter ones) is never framed and never leaks its
# URL through Referer. frame-ancestors alone leaves the docs page's scripts working.
NOSNIFF = (b"x-content-type-options", b"nosniff")
_HTML_HEADERS = (
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
)


def _security_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    present = {name for name, _ in headers}
    missing = [] if b"x-content-type-options" in present else [NOSNIFF]
    if any(name == b"content-type" and value.startswith(b"text/html") for name, value in headers):
        missing += [header for header in _HTML_HEADERS if header[0] not in present]
    return missing


def _is_json(media: str) -> bool:
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _refuse_huge_headers(scope: Scope) -> None:
    total = 0
    for name, value in scope["headers"]:
        size = len(name) + len(value)
        if size > MAX_HEADER:
            raise HeadersTooLarge()
        total += size
    if total > MAX_HEADERS:
        raise HeadersTooLarge()


def _refuse_nul(scope: Scope) -> None:
    """A NUL character can be in no ID and no filter value, and PostgreSQL refuses it in text
    parameters: answered here, before it can reach a query and surface as a 500."""
    if "\x00" in scope["path"]:
        raise NotFound()
    query: bytes = scope.get("query_string", b"")
    if b"\x00" in query or b"%00" in query:
        raise BadRequest("Query parameters must not contain NUL characters", code="invalid_query")


class RequestsInFlight:
    """Whether this process is serving requests: background work in the process (outbox
    delivery) steps aside while it is (tessera.outbox.worker).

    "Serving" is a request in flight, or one finished within :data:`QUIET_SECONDS`: on SQLite a
    request runs from start to end without giving up the event loop, so the background task only
    ever runs *between* requests, when none is in flight even in a rush."""

    QUIET_SECONDS = 0.1

    __slots__ = ("count", "last_seen")

    def __init__(self) -> None:
        self.count = 0
        self.last_seen = -1e9  # time.perf_counter() when a request last started or ended

    def busy(self) -> bool:
        return self.count > 0 or time.perf_counter() - self.last_seen < self.QUIET_SECONDS


IN_FLIGHT = RequestsInFlight()


class Edge:
    """What every request passes through; ``app`` is the router it hands requests on to."""

    def __init__(
        self,
        app: ASGIApp | None = None,
        *,
        db: Database | None = None,  # None: no API keys asked (tests of the edge alone)
        clock: Clock = system_clock,
        log_requests: bool = True,
        limiter: RateLimiter | None = None,
        metrics: Recorder | None = None,
        routes: HotRoutes | None = None,
    ) -> None:
        self.app = app
        self.db = db
        self.clock = clock
        self.log_requests = log_requests
        self.limiter = limiter
        self.metrics = metrics  # None: metrics off, and this costs one test per request
        self.routes = routes

    def serving(self, router: Router) -> Edge:
        """This edge in front of ``router``, its marked routes served from here."""
        self.app = router
        self.routes = HotRoutes(router.routes)
        return self

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None, "an edge serves in front of a router"
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        incoming = b""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value
        request_id = (
            incoming
            if _VALID_REQUEST_ID.match(incoming.decode("latin-1"))
            else ids.request_id().encode()
        )
        added: list[tuple[bytes, bytes]] = [(b"x-request-id", request_id)]
        status = 500
        response_started = False

        async def send_with_headers(message: Message) -> None:
            # The router's responses only: everything else is answered below, headers included.
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                message["headers"] = [*headers, *_security_headers(headers), *added]
            await send(message)

        IN_FLIGHT.count += 1
        IN_FLIGHT.last_seen = started
        try:
            response: Response | None = None
            try:
                receive = await self._admit(scope, receive, added)
                plan = self.routes.find(scope) if self.routes is not None else None
                if plan is not None:
                    response = await plan.respond(scope, receive)
                else:
                    await self.app(scope, receive, send_with_headers)
            except Exception as exc:
                if response_started:
                    raise
                response = error_response(exc)
                if response is None:
                    error_log.exception(
                        "unhandled error on %s %s (request %s)",
                        scope["method"],
                        scope["path"],
                        request_id.decode(),
                    )
                    response = json_response(INTERNAL_ERROR, 500)
            if response is not None:
                status = response.status_code
                headers = response.raw_headers
                headers += [*_security_headers(headers), *added]
                await response(scope, receive, send)
        finally:
            IN_FLIGHT.count -= 1
            IN_FLIGHT.last_seen = time.perf_counter()
            if self.log_requests:
                self._log(scope, status, started, request_id)
            if self.metrics is not None:
                self.metrics.request(
                    scope["method"], route_template(scope), status, time.perf_counter() - started
                )

    async def _admit(
        self, scope: Scope, receive: Receive, added: list[tuple[bytes, bytes]]
    ) -> Receive:
        """The checks before routing, in their documented order; raises the refusal. Returns
        the request's ``receive``, its body read and guarded when it has one."""
        _refuse_huge_headers(scope)
        path: str = scope["path"]
        is_api = path.startswith("/api/")
        if is_api and self.limiter is not None:
            decision = await self.limiter.decide(scope)
            added.extend(decision.headers())
            if not decision.allowed:
                raise RateLimited()
        _refuse_nul(scope)
        if is_api and scope["method"] in _BODY_METHODS:
            csv = _CSV_UPLOAD.match(path) is not None
            receive = await _guarded_body(dict(scope["headers"]), receive, csv)
        if self.db is not None and path.startswith(API_PREFIX):
            await authenticate(scope, self.db, self.clock)
        return receive

    def _log(self, scope: Scope, status: int, started: float, request_id: bytes) -> None:
        record: dict[str, Any] = {
            "request_id": request_id.decode(),
            "method": scope["method"],
            "path": scope["path"],
            "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        }
        client = scope.get("client")
        if client:
            record["client"] = client[0]
        access_log.info(dumps(record).decode())


async def _guarded_body(headers: dict[bytes, bytes], receive: Receive, csv: bool) -> Receive:
    """Read the whole body (≤ its limit) up front and hand it on unchanged."""
    limit = MAX_CSV_BODY if csv else MAX_BODY
    too_large = (
        PayloadTooLarge(
            f"An import file is at most 5 MiB ({MAX_CSV_BODY:,} bytes);"
            " split it into several files",
            details={"limit_bytes": MAX_CSV_BODY},
        )
        if csv
        else PayloadTooLarge()
    )
    declared = headers.get(b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
        more = message.get("more_body", False)
    body = b"".join(chunks)
    media = headers.get(b"content-type", b"").decode("latin-1").split(";", 1)[0].strip().lower()
    if body.strip() and not (media in _CSV_TYPES if csv else _is_json(media)):
        raise (
            UnsupportedMediaType("Content-Type must be text/csv") if csv else UnsupportedMediaType()
        )
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


class EdgeApp(FastAPI):
    """FastAPI with :class:`Edge` as its whole middleware stack, in place of Starlette's error
    middlewares and any added ones: set ``edge`` before the first request."""

    edge: Edge | None = None

    def build_middleware_stack(self) -> ASGIApp:
        return (self.edge or Edge()).serving(self.router)
