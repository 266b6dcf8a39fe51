"""The metrics each process records, and the cheap calls that record them.

Every metric and its labels are documented in docs/operations.md; a label never carries an ID
(routes are templates), so the number of series stays bounded whatever the traffic.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import Match
from starlette.types import Scope

from tessera.db import Connection

# Latency buckets in seconds: API requests take milliseconds, exports and slow pages more.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # any path no route knows: never the raw path, which could be anything


class Recorder:
    """The metric objects of this process (prometheus_client's default registry)."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        self.requests = Counter(
            "tessera_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
        )
        self.latency = Histogram(
            "tessera_http_request_duration_seconds",
            "Time from a request's arrival to its answer, by method and route template.",
            ["method", "route"],
            buckets=BUCKETS,
        )
        self.tickets = Counter(
            "tessera_tickets_issued", "Tickets issued by committed Create Attendee requests."
        )
        self.check_ins = Counter("tessera_check_ins", "Tickets checked in (committed).")
        self.deliveries = Counter(
            "tessera_outbox_deliveries",
            "Outbox delivery attempts by kind (email, webhook) and outcome (delivered; retried"
            " or failed: a failure, failed meaning given up).",
            ["kind", "outcome"],
        )
        self.pool_size = Gauge(
            "tessera_db_pool_connections",
            "Database connections open in the server processes' pools.",
            multiprocess_mode="livesum",
        )
        self.pool_in_use = Gauge(
            "tessera_db_pool_in_use",
            "Database connections of the server processes' pools in use.",
            multiprocess_mode="livesum",
        )
        # (method, route, status) → its two children: labels() costs more than a dict lookup.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            shown = method if method in METHODS else "OTHER"
            children = (
                self.requests.labels(shown, route, str(status)),
                self.latency.labels(shown, route),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)


def route_template(scope: Scope) -> str:
    """The route template of a request: the one the router matched, or, for a request answered
    before routing (401 from authentication, 429, 413), the one it would have matched. An
    unknown path is :data:`UNMATCHED`, never itself."""
    route = scope.get("route")
    if route is not None:
        path: str = route.path
        return path
    router = getattr(scope.get("app"), "router", None)
    partial = UNMATCHED
    for candidate in getattr(router, "routes", ()):
        match, _ = candidate.matches(scope)
        if match is Match.FULL:
            found: str = candidate.path
            return found
        if match is Match.PARTIAL and partial is UNMATCHED:
            partial = candidate.path  # the path exists, the method does not (405)
    return partial


RECORDER: Recorder | None = None


def enable() -> Recorder:
    """Create the metrics (once per process: prometheus_client refuses a second registration)."""
    global RECORDER
    if RECORDER is None:
        RECORDER = Recorder()
    return RECORDER


def tickets_issued(conn: Connection, count: int) -> None:
    """Count ``count`` tickets once the unit of work that issues them commits."""
    recorder = RECORDER
    if recorder is not None and count:
        conn.after_commit(lambda: recorder.tickets.inc(count))


def checked_in(conn: Connection) -> None:
    recorder = RECORDER
    if recorder is not None:
        conn.after_commit(recorder.check_ins.inc)


def delivery(kind: str, outcome: str) -> None:
    """``outcome``: delivered, retried or failed."""
    if RECORDER is not None:
        RECORDER.deliveries.labels(kind, outcome).inc()
