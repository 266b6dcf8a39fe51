"""What bounds a create on this machine, measured beside the served create.

- The **floors** (bench/floor.py): the statements of a real create, recorded in-process,
  replayed without HTTP. On SQLite by one thread, as the schema is and then with the indexes
  that serve only reads dropped; on PostgreSQL by as many connections as the two servers'
  pools hold, on the scenario's classes.
- The SQLite **ceiling** (bench/ceiling.py): a bare server that only parses HTTP, replays those
  statements and answers a real create's bytes, under the create scenario's load; and the
  **replay ceiling**: the bare server answering keyed creates whose outcome is stored, with the
  lookup Tessera's replay sends, under the replay scenario's load.

Each reads what earlier scenarios on the database measured (``setup.results``) to print the
served create as a share of them, so they run after those.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

from bench import ceiling, floor
from bench.databases import counters_match
from bench.goals import (
    POSTGRESQL_CREATE_HOT,
    POSTGRESQL_CREATE_SPREAD,
    SQLITE_CREATE,
    SQLITE_REPLAY,
)
from bench.harness import Setup
from bench.processes import Servers, cpu_seconds, postgres_pids, running
from bench.report import Result, log, log_served
from bench.served import measure_load, store_replays
from bench.wrk import create_script, replay_script

HERE = Path(__file__).resolve().parent


def sqlite_ceiling(setup: Setup) -> list[Result]:
    """The SQLite create's ceiling: a bare server that only parses HTTP, replays a real
    create's statements and answers its bytes, under the create scenario's load."""
    profile, workdir, pop = setup.profile, setup.workdir, setup.population
    steps = floor.steps_of(*setup.recorded)
    steps_file = workdir / "ceiling-steps.pickle"
    ceiling.write_steps(steps_file, setup.url.removeprefix("sqlite:///"), steps, setup.created)
    log(
        f"-- sqlite create-ceiling: HTTP parsing and a create's {len(steps)} statements, nothing"
        f" else; 1 process, {profile.connections} connections, {profile.duration}s"
    )
    command = [sys.executable, str(HERE / "ceiling.py"), "--steps", str(steps_file)]
    with running(Servers(setup.env, workdir, 1, False, command=command)) as servers:
        nonce = uuid.uuid4().hex[:6]
        scripts = [create_script(setup.secret, [(pop.hot_event_id, pop.hot_class_id)], nonce)]
        result = measure_load(setup, "create-ceiling", servers, scripts, nonce)
        result.statements_per_request = float(len(steps))
        result.rss_mb = servers.rss_mb()
    result.verified = counters_match(setup.url)  # it made real creates: counters still = rows
    log_served(result, SQLITE_CREATE, server="the ceiling", show_rss=False)
    log_shares(setup, "create-hot", result, "Tessera's create", "the ceiling's")
    return [result]


def sqlite_replay_ceiling(setup: Setup) -> list[Result]:
    """The idempotent replay's ceiling: the bare server answering keyed creates whose outcome
    is stored, by the lookup Tessera's replay sends, under the replay scenario's load; then the
    same replay as an ASGI app under uvicorn, to show what the server itself takes of it."""
    profile, workdir, pop = setup.profile, setup.workdir, setup.population
    with running(setup.servers()) as servers:  # the outcomes to replay, stored by Tessera
        stored = store_replays(servers.ports[0], setup.secret, pop, 64)
    path = setup.url.removeprefix("sqlite:///")
    results = []
    for name, what, whose, flags in (
        ("replay-ceiling", "HTTP parsing", "the bare replay's", []),
        ("replay-asgi-ceiling", "uvicorn and one ASGI call", "the ASGI replay's", ["--asgi"]),
    ):
        log(
            f"-- sqlite {name}: {what}, the stored outcome's lookup and the fingerprint,"
            f" nothing else; 1 process, {profile.connections} connections, {profile.duration}s"
        )
        command = [sys.executable, str(HERE / "ceiling.py"), "--replay", path, *flags]
        with running(Servers(setup.env, workdir, 1, False, command=command)) as servers:
            scripts = [replay_script(setup.secret, pop.hot_event_id, stored)]
            result = measure_load(setup, name, servers, scripts, uuid.uuid4().hex[:6])
            result.statements_per_request = 1.0
            result.rss_mb = servers.rss_mb()
        log_served(result, SQLITE_REPLAY, server="the ceiling", show_rss=False)
        log_shares(setup, "replay", result, "Tessera's replay", whose)
        results.append(result)
    return results


def log_shares(setup: Setup, scenario: str, bound: Result, what: str, whose: str) -> None:
    """Tessera's ``scenario`` as a share of ``bound``: under each --server measured (the
    median of its rounds), the server named when more than one was."""
    servers = list(dict.fromkeys(r.server for r in setup.results if r.scenario == scenario))
    for server in servers:
        runs = sorted(
            (r for r in setup.results if r.scenario == scenario and r.server == server),
            key=lambda r: r.rps,
        )
        served = runs[len(runs) // 2]
        under = f" under {server}" if len(servers) > 1 else ""
        processes = f" (on {setup.processes} processes, the bare one on 1)"
        log(
            f"   {what}{under}: {served.rps / bound.rps:.0%} of {whose} req/s,"
            f" {served.cpu_us_per_request / bound.cpu_us_per_request:.1f} times its CPU"
            f" per request{processes if setup.processes > 1 else ''}"
        )


def sqlite_floors(setup: Setup) -> list[Result]:
    """The SQLite create floor: as the schema is, then with the indexes that serve only reads
    dropped, so **nothing may use the database afterwards**. With the replay scenario's result
    (the HTTP, authentication and idempotency path with one lookup), it also prints the sum of
    the two floors beside what the create goal leaves one process."""
    path = setup.url.removeprefix("sqlite:///")
    steps = floor.steps_of(*setup.recorded)
    creates = setup.profile.floor_creates
    results = []
    for name in ("create-floor", "create-floor-unique-indexes-only"):
        if name != "create-floor":
            dropped = floor.drop_read_only_indexes(path)
            log(f"-- sqlite {name}: dropped {len(dropped)} indexes ({', '.join(dropped)})")
        else:
            log(f"-- sqlite {name}: a create's {len(steps)} statements replayed without HTTP")
        measured = floor.measure(path, steps, creates, creates // 10)
        result = Result(name, "sqlite", 1)
        result.requests = measured.creates
        result.rps = 1e6 / measured.wall_us
        result.cpu_us_per_request = measured.cpu_us
        result.statements_per_request = float(len(steps))
        results.append(result)
        log(
            f"   {result.rps:8.0f} creates/s  CPU {measured.cpu_us:.0f} µs per create "
            f"(one thread; at most {1e6 / measured.cpu_us:,.0f} creates/s on one core)"
        )
    replay = setup.result("replay")
    if replay is not None:
        sql, http = results[0].cpu_us_per_request, replay.cpu_us_per_request
        budget = 1e6 / SQLITE_CREATE.rate
        log(
            f"   floors of a create: SQLite {sql:,.0f} + the replay's path {http:,.0f} = "
            f"{sql + http:,.0f} µs before any of Create Attendee's own Python; "
            f"the goal leaves {budget:,.0f} µs of one process's core"
        )
    return results


def postgresql_floors(setup: Setup) -> list[Result]:
    """The PostgreSQL create floor of each create scenario: spread over the 64 classes, then
    all on the hot one."""
    pop = setup.population
    hot = (pop.hot_event_id, pop.hot_class_id)
    return [
        _postgresql_floor(setup, "spread", pop.spread, POSTGRESQL_CREATE_SPREAD.rate),
        _postgresql_floor(setup, "hot", [hot], POSTGRESQL_CREATE_HOT.rate),
    ]


def _postgresql_floor(
    setup: Setup, variant: str, targets: list[tuple[str, str]], goal_rate: int
) -> Result:
    """A create's statements replayed by as many connections as the two servers' pools hold,
    without HTTP, on the scenario's classes."""
    pop = setup.population
    steps = floor.steps_of(*setup.recorded, dialect="postgresql")
    connections = 2 * 4  # two servers, TESSERA_DB_POOL_SIZE's default of 4 each
    name = f"create-floor-{variant}"
    log(
        f"-- postgresql {name}: a create's {len(steps)} statements replayed without HTTP,"
        f" {connections} connections, {setup.profile.duration}s"
    )
    measured = floor.measure_postgres(
        setup.url,
        steps,
        recorded_target=(pop.hot_event_id, pop.hot_class_id),
        targets=targets,
        connections=connections,
        seconds=setup.profile.duration,
        database_cpu=lambda: cpu_seconds(postgres_pids()),
    )
    result = Result(name, "postgresql", 1)
    result.requests = measured.creates
    result.rps = measured.creates / measured.seconds
    result.cpu_us_per_request = measured.client_cpu_us
    result.database_cpu_us_per_request = measured.database_cpu_us
    result.statements_per_request = float(len(steps))
    result.verified = counters_match(setup.url)
    cores = os.cpu_count() or 1
    log(
        f"   {result.rps:8.0f} creates/s  CPU per create: PostgreSQL"
        f" {measured.database_cpu_us:,.0f} µs + the replaying client {measured.client_cpu_us:,.0f}"
        f" µs  counters {'OK' if result.verified else 'MISMATCH'}"
    )
    log(
        f"   PostgreSQL alone allows at most {cores * 1e6 / measured.database_cpu_us:,.0f}"
        f" creates/s on {cores} cores, with a server that cost nothing; the goal is {goal_rate:,}"
    )
    return result
