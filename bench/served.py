"""Scenarios Tessera serves over HTTP: real `tessera serve` processes on loopback, a warm-up,
then wrk's measured load, with CPU read from /proc around it.

:func:`measure_load` is the measurement itself (any server: the ceiling uses it too);
:func:`served` runs one scenario on the database's servers from start to stop; :class:`Served`
is the built-in API scenarios (create, replay, list, get). A new scenario that is a load of
HTTP requests calls :func:`served` with its own Lua scripts (bench/wrk.py).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from bench.databases import counters_match
from bench.goals import Goal
from bench.harness import Setup
from bench.populate import Population
from bench.processes import (
    Servers,
    children_cpu_seconds,
    cpu_seconds,
    postgres_pids,
    running,
    sampled,
)
from bench.report import Result, log, log_served
from bench.wrk import create_script, drive, get_script, replay_script

# (setup, the servers' ports, a nonce unique to the run) → one wrk Lua script per port. The
# warm-up runs the same scripts with the nonce changed, so keys made from it stay unique.
Scripts = Callable[[Setup, list[int], str], list[str]]


def measure_load(
    setup: Setup, name: str, servers: Servers, scripts: list[str], nonce: str
) -> Result:
    """A warm-up, then the measured load: figures from wrk, CPU from /proc."""
    profile, workdir = setup.profile, setup.workdir
    if profile.warmup:
        warm = [s.replace(nonce, nonce + "w") for s in scripts]
        drive(servers, warm, profile.warmup, profile.connections, workdir)
    database_pids = postgres_pids() if setup.kind == "postgresql" else []
    cpu_before = cpu_seconds(servers.pids())
    database_before = cpu_seconds(database_pids)
    with sampled(servers, profile.py_spy_dir, profile.duration, f"{setup.kind}-{name}"):
        load_before = children_cpu_seconds()
        figures = drive(servers, scripts, profile.duration, profile.connections, workdir)
        load = children_cpu_seconds() - load_before
    cpu = cpu_seconds(servers.pids()) - cpu_before
    database = cpu_seconds(database_pids) - database_before
    result = Result(name, setup.kind, servers.processes)
    result.requests = figures["requests"]
    result.rps = figures["requests"] / (figures["duration_us"] / 1e6)
    result.p50_ms = figures["p50"] / 1000
    result.p95_ms = figures["p95"] / 1000
    result.p99_ms = figures["p99"] / 1000
    result.non_2xx = figures["non2xx"]
    result.socket_errors = figures["socket_errors"]
    per_request = 1e6 / max(1, result.requests)
    result.cpu_us_per_request = cpu * per_request
    result.load_cpu_us_per_request = load * per_request
    if database_pids:
        result.database_cpu_us_per_request = database * per_request
    return result


def served(
    setup: Setup,
    name: str,
    scripts: Scripts | str,
    goal: Goal | None = None,
    verify: bool = False,
    label: str | None = None,
) -> Result:
    """One scenario on the database's `tessera serve` processes, started for it and stopped
    after: the ``-- ...`` line, the measured load, the servers' RSS, with ``verify`` the seat
    counters checked against ticket rows afterwards, and the figures' two lines.

    ``scripts``: one Lua script that every server gets, or a function that builds one per
    server (requests that must be unique across servers, such as creates, need that)."""
    profile = setup.profile
    under = "" if setup.server == "uvicorn" else f" under {setup.server}"
    log(
        f"-- {setup.kind} {label or name}{under}: {setup.processes} process(es), "
        f"{profile.connections} connections, {profile.duration}s"
    )
    with running(setup.servers()) as servers:
        nonce = uuid.uuid4().hex[:6]
        if isinstance(scripts, str):
            each = [scripts] * len(servers.ports)
        else:
            each = scripts(setup, servers.ports, nonce)
        result = measure_load(setup, name, servers, each, nonce)
        result.rss_mb = servers.rss_mb()
    result.goal = goal.text if goal else ""
    if verify:
        result.verified = counters_match(setup.url)
    log_served(result, goal)
    return result


@dataclass(frozen=True)
class Served:
    """The API's scenarios: Create Attendee (``hot``: every create on one class; ``spread``:
    over the 64 spread classes), an idempotent replay, a page of the big event's attendee list,
    one attendee."""

    scenario: str  # create, replay, list, get: the key of its statements per request
    variant: str = ""
    goal: Goal | None = None

    def __call__(self, setup: Setup) -> list[Result]:
        name = self.scenario + (f"-{self.variant}" if self.variant else "")
        label = self.scenario + (f" ({self.variant})" if self.variant else "")
        verify = self.scenario == "create"
        result = served(setup, name, self.scripts, self.goal, verify=verify, label=label)
        result.statements_per_request = setup.statements.get(self.scenario)
        return [result]

    def scripts(self, setup: Setup, ports: list[int], nonce: str) -> list[str]:
        pop, secret = setup.population, setup.secret
        if self.scenario == "create":
            hot = [(pop.hot_event_id, pop.hot_class_id)]
            targets = hot if self.variant == "hot" else pop.spread
            return [create_script(secret, targets, f"{nonce}{i}") for i in range(len(ports))]
        if self.scenario == "replay":
            stored = store_replays(ports[0], secret, pop, 64)
            return [replay_script(secret, pop.hot_event_id, stored)] * len(ports)
        if self.scenario == "list":
            path = f"/api/v1/events/{pop.big_event_id}/attendees?page=3&page_size=50"
        else:
            path = f"/api/v1/events/{pop.big_event_id}/attendees/{pop.sample_ticket_id}"
        return [get_script(path, {"X-API-KEY": secret})] * len(ports)


def store_replays(port: int, key: str, pop: Population, count: int) -> list[tuple[str, str]]:
    """Send ``count`` keyed creates once, so the load can replay them."""
    stored = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        for i in range(count):
            idem = f"replay-{uuid.uuid4().hex[:10]}-{i}"
            body = json.dumps(
                {"ticket_class_id": pop.hot_class_id, "contact": {"email": f"r{idem}@example.com"}},
                separators=(",", ":"),
            )
            response = client.post(
                f"/api/v1/events/{pop.hot_event_id}/attendees",
                content=body,
                headers={
                    "X-API-KEY": key,
                    "Content-Type": "application/json",
                    "Idempotency-Key": idem,
                },
            )
            response.raise_for_status()
            stored.append((idem, body))
    return stored
