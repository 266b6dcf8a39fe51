"""Tessera's benchmark: real servers on loopback, populated tables, wrk as the load generator.

    python bench/run.py            # the full run (≈ 5 minutes): make bench
    python bench/run.py --quick    # shorter runs (≈ 2 minutes): make bench-quick
    python bench/run.py --smoke    # seconds; proves the harness works (part of the test suite)
    python bench/run.py --soak 1000000   # RSS over a million creates (≈ 15 minutes)

For every scenario it prints req/s, p50/p95/p99 latency, non-2xx responses, CPU µs per request
(of the servers, of PostgreSQL, of wrk), SQL statements per request and server RSS; appends one
JSON line per scenario to bench/results/results.jsonl and writes a Markdown table to
bench/RESULTS.md (not for --smoke). After each create scenario it checks that ticket rows equal the
seat counters. It also measures the create's floors: its statements replayed without HTTP
(bench/floor.py; on PostgreSQL with as many connections as the servers' pools), and on SQLite its
ceiling: a bare server that only parses HTTP and replays them (bench/ceiling.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import ceiling, floor
from bench.populate import Population, populate
from tessera import db as tessera_db
from tessera.db import create_database

HERE = Path(__file__).resolve().parent
TESSERA = Path(sys.executable).parent / "tessera"
PG_ADMIN = os.environ.get(
    "TESSERA_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Profile:
    name: str
    duration: int  # seconds of measured load per scenario
    warmup: int
    attendees: int  # population of the big event (and of contacts, payments)
    stored_keys: int
    connections: int = 32
    floor_creates: int = 5_000  # replays of a create's statements for the SQLite floor
    py_spy_dir: Path | None = None  # --profile: py-spy samples of each serving process


PROFILES = {
    "full": Profile("full", duration=20, warmup=5, attendees=100_000, stored_keys=100_000),
    "quick": Profile("quick", duration=6, warmup=2, attendees=100_000, stored_keys=100_000),
    "smoke": Profile(
        "smoke",
        duration=1,
        warmup=0,
        attendees=500,
        stored_keys=500,
        connections=4,
        floor_creates=100,
    ),
}


@dataclass
class Result:
    scenario: str
    database: str
    processes: int
    requests: int = 0
    rps: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    non_2xx: int = 0
    socket_errors: int = 0
    cpu_us_per_request: float = 0.0  # the Tessera servers'
    database_cpu_us_per_request: float | None = None  # PostgreSQL's processes'
    load_cpu_us_per_request: float | None = None  # wrk's
    statements_per_request: float | None = None
    rss_mb: list[float] = field(default_factory=list)
    verified: bool | None = None
    goal: str = ""


def log(message: str) -> None:
    print(message, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# -- servers ----------------------------------------------------------------------------------


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def _cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / CLOCK_TICKS


def _postgres_pids() -> list[int]:
    """Every PostgreSQL process on the machine (backends, WAL writer, checkpointer...)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
    return pids


def _children_cpu_seconds() -> float:
    """CPU of this process's exited children: around a load run, that is wrk's."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class Servers:
    """`tessera serve` processes started exactly as a user would (or, given ``command``, that
    command with ``--port``: the ceiling server)."""

    def __init__(
        self,
        env: dict[str, str],
        workdir: Path,
        processes: int,
        separate: bool,
        command: list[str] | None = None,
    ) -> None:
        self.env, self.workdir = env, workdir
        count = processes if separate else 1
        workers = 1 if separate else processes
        serve = command or [str(TESSERA), "serve", "--workers", str(workers)]
        self.ports = [free_port() for _ in range(count)]
        self.procs = [
            subprocess.Popen(
                [*serve, "--port", str(port)],
                env=env,
                cwd=workdir,
                stdout=subprocess.DEVNULL,
                stderr=(workdir / f"server-{port}.log").open("wb"),
                start_new_session=True,
            )
            for port in self.ports
        ]

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        for port in self.ports:
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    log_file = self.workdir / f"server-{port}.log"
                    tail = log_file.read_text(errors="replace")[-2000:]
                    raise SystemExit(
                        f"server on port {port} did not become ready; its log ({log_file}) "
                        f"ends with:\n{tail}"
                    )
                time.sleep(0.1)
        time.sleep(0.5 if len(self.ports) == 1 else 0.2)  # let --workers children finish booting

    def pids(self) -> list[int]:
        return [pid for proc in self.procs for pid in _descendants(proc.pid)]

    def worker_pids(self) -> list[int]:
        """The processes that serve requests (uvicorn's workers, or the server itself)."""
        serving = []
        for proc in self.procs:
            tree = _descendants(proc.pid)
            kids = [pid for pid in tree if pid != proc.pid and _rss_mb(pid) > 30]
            serving.extend(kids or [proc.pid])
        return serving

    def stop(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


# -- load -------------------------------------------------------------------------------------

_LUA_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH_JSON {"requests":%d,"duration_us":%d,"non2xx":%d,' ..
    '"socket_errors":%d,"p50":%d,"p95":%d,"p99":%d}\n', summary.requests, summary.duration,
    e.status, e.connect + e.read + e.write + e.timeout, latency:percentile(50),
    latency:percentile(95), latency:percentile(99)))
end
"""

_LUA_THREADS = r"""
local threads = 0
setup = function(thread) thread:set("tid", threads); threads = threads + 1 end
local counter = 0
"""


def create_script(key: str, targets: list[tuple[str, str]], nonce: str) -> str:
    paths = ", ".join(f'{{"{e}", "{c}"}}' for e, c in targets)
    return (
        _LUA_THREADS
        + f"""
local targets = {{{paths}}}
request = function()
  counter = counter + 1
  local t = targets[(counter % #targets) + 1]
  local id = "{nonce}-" .. tid .. "-" .. counter
  local body = '{{"ticket_class_id":"' .. t[2] .. '","contact":{{"email":"b' .. id ..
    '@example.com","first_name":"Bench","last_name":"Mark"}},"quantity":1,"send_email":false}}'
  return wrk.format("POST", "/api/v1/events/" .. t[1] .. "/attendees",
    {{["Content-Type"]="application/json", ["X-API-KEY"]="{key}", ["Idempotency-Key"]=id}}, body)
end
"""
        + _LUA_DONE
    )


def replay_script(key: str, event_id: str, requests: list[tuple[str, str]]) -> str:
    items = ", ".join(f"{{'{k}', '{b}'}}" for k, b in requests)
    return (
        _LUA_THREADS
        + f"""
local items = {{{items}}}
request = function()
  counter = counter + 1
  local item = items[(counter % #items) + 1]
  return wrk.format("POST", "/api/v1/events/{event_id}/attendees",
    {{["Content-Type"]="application/json", ["X-API-KEY"]="{key}", ["Idempotency-Key"]=item[1]}},
    item[2])
end
"""
        + _LUA_DONE
    )


def get_script(key: str, path: str) -> str:
    return (
        f"""
request = function()
  return wrk.format("GET", "{path}", {{["X-API-KEY"]="{key}"}})
end
"""
        + _LUA_DONE
    )


def wrk(port: int, script: str, duration: int, connections: int, workdir: Path) -> dict[str, Any]:
    path = workdir / f"script-{uuid.uuid4().hex[:8]}.lua"
    path.write_text(script)
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{duration}s",
            "--timeout",
            "5s",
            "-s",
            str(path),
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    for line in out.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            data: dict[str, Any] = json.loads(line.removeprefix("BENCH_JSON "))
            return data
    raise SystemExit(f"wrk failed:\n{out.stdout}\n{out.stderr}")


def drive(
    servers: Servers, scripts: list[str], duration: int, connections: int, workdir: Path
) -> dict[str, Any]:
    """Run one wrk per server port at once (connections split) and merge their figures."""
    if duration <= 0:
        return {
            "requests": 0,
            "duration_us": 1,
            "non2xx": 0,
            "socket_errors": 0,
            "p50": 0,
            "p95": 0,
            "p99": 0,
        }
    per = max(2, connections // len(servers.ports))
    with _pool(len(servers.ports)) as pool:
        futures = [
            pool.submit(wrk, port, script, duration, per, workdir)
            for port, script in zip(servers.ports, scripts, strict=True)
        ]
        parts = [f.result() for f in futures]
    merged = {
        "requests": sum(p["requests"] for p in parts),
        "duration_us": max(p["duration_us"] for p in parts),
        "non2xx": sum(p["non2xx"] for p in parts),
        "socket_errors": sum(p["socket_errors"] for p in parts),
    }
    for q in ("p50", "p95", "p99"):  # conservative: the worse server's percentile
        merged[q] = max(p[q] for p in parts)
    return merged


@contextmanager
def _pool(size: int) -> Iterator[Any]:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(size) as pool:
        yield pool


# -- databases --------------------------------------------------------------------------------


def cli(env: dict[str, str], *args: str) -> dict[str, Any]:
    out = subprocess.run(
        [str(TESSERA), *args, "--json"], env=env, capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"tessera {' '.join(args)} failed: {out.stderr.strip()}")
    data: dict[str, Any] = json.loads(out.stdout)
    return data


def fresh_database(kind: str, workdir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'bench.db'}"
    import asyncpg

    name = f"tessera_bench_{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        conn = await asyncpg.connect(PG_ADMIN)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def drop_database(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    import asyncpg

    async def drop() -> None:
        conn = await asyncpg.connect(PG_ADMIN)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


async def _verify(url: str) -> bool:
    """Seat counters equal seat-holding ticket rows, for every class and event."""
    db = create_database(url, pool_size=1)
    await db.connect()
    try:
        async with db.reader() as conn:
            bad_classes = await conn.fetchval(
                "SELECT count(*) FROM ticket_classes tc WHERE tc.quantity_sold <> (SELECT count(*)"
                " FROM tickets t WHERE t.ticket_class_id = tc.id"
                " AND t.status IN ('valid', 'checked_in'))"
            )
            bad_events = await conn.fetchval(
                "SELECT count(*) FROM events e WHERE e.tickets_sold <> (SELECT count(*)"
                " FROM tickets t WHERE t.event_id = e.id AND t.status IN ('valid', 'checked_in'))"
            )
    finally:
        await db.close()
    return int(bad_classes) == 0 and int(bad_events) == 0


async def _populate(url: str, org: str, key_id: str, profile: Profile, spread: int) -> Population:
    db = create_database(url, pool_size=2)
    await db.connect()
    try:
        return await populate(
            db,
            org,
            key_id,
            attendees=profile.attendees,
            spread=spread,
            stored_keys=profile.stored_keys,
            progress=log,
        )
    finally:
        await db.close()


def statements_per_request(
    url: str, key: str, pop: Population, samples: int = 50
) -> tuple[dict[str, float], list[floor.Recorded], bytes]:
    """Statements each kind of request sends, counted in-process over real requests; and the
    statements of two more creates, recorded for the floors (and on SQLite the ceiling), with
    the last one's response body."""
    from fastapi.testclient import TestClient

    from tessera.app import create_app
    from tessera.config import Settings

    settings = Settings(
        database_url=url,
        rate_limit_per_minute=0,
        access_log=False,
        worker_in_process=False,
        _env_file=None,
    )  # type: ignore[call-arg]
    counts: dict[str, float] = {}
    headers = {"X-API-KEY": key}
    with TestClient(create_app(settings)) as client:

        def measure(name: str, call: Any) -> None:
            call(0)  # warm caches outside the count
            before = tessera_db.STATEMENTS.count
            for i in range(1, samples + 1):
                response = call(i)
                assert response.status_code < 300, response.text
            counts[name] = (tessera_db.STATEMENTS.count - before) / samples

        nonce = uuid.uuid4().hex[:8]
        create_path = f"/api/v1/events/{pop.hot_event_id}/attendees"

        def body(i: int) -> dict[str, Any]:
            return {
                "ticket_class_id": pop.hot_class_id,
                "contact": {"email": f"s{nonce}{i}@example.com", "first_name": "S"},
            }

        measure(
            "create",
            lambda i: client.post(
                create_path, json=body(i), headers={**headers, "Idempotency-Key": f"{nonce}-{i}"}
            ),
        )
        recorded: list[floor.Recorded] = []
        created = b""
        for i in (samples + 1, samples + 2):  # both databases: the floors replay these
            tessera_db.STATEMENTS.recording = []
            try:
                response = client.post(
                    create_path,
                    json=body(i),
                    headers={**headers, "Idempotency-Key": f"{nonce}-{i}"},
                )
                assert response.status_code == 201, response.text
                recorded.append(tessera_db.STATEMENTS.recording)
                created = response.content
            finally:
                tessera_db.STATEMENTS.recording = None
        measure(
            "replay",
            lambda i: client.post(
                create_path, json=body(i), headers={**headers, "Idempotency-Key": f"{nonce}-{i}"}
            ),
        )
        measure(
            "list",
            lambda i: client.get(
                f"/api/v1/events/{pop.big_event_id}/attendees?page={i}&page_size=50",
                headers=headers,
            ),
        )
        measure(
            "get",
            lambda i: client.get(
                f"/api/v1/events/{pop.big_event_id}/attendees/{pop.sample_ticket_id}",
                headers=headers,
            ),
        )
    return counts, recorded, created


def run_postgres_floor(
    url: str,
    recorded: list[floor.Recorded],
    variant: str,
    targets: list[tuple[str, str]],
    hot: tuple[str, str],
    profile: Profile,
) -> Result:
    """The PostgreSQL create floor (bench/floor.py): the create's statements replayed by as
    many connections as the two servers' pools hold, without HTTP, on the scenario's classes."""
    steps = floor.steps_of(*recorded, dialect="postgresql")
    connections = 2 * 4  # two servers, TESSERA_DB_POOL_SIZE's default of 4 each
    name = f"create-floor-{variant}"
    log(
        f"-- postgresql {name}: a create's {len(steps)} statements replayed without HTTP,"
        f" {connections} connections, {profile.duration}s"
    )
    measured = floor.measure_postgres(
        url,
        steps,
        recorded_target=hot,
        targets=targets,
        connections=connections,
        seconds=profile.duration,
        database_cpu=lambda: _cpu_seconds(_postgres_pids()),
    )
    result = Result(name, "postgresql", 1)
    result.requests = measured.creates
    result.rps = measured.creates / measured.seconds
    result.cpu_us_per_request = measured.client_cpu_us
    result.database_cpu_us_per_request = measured.database_cpu_us
    result.statements_per_request = float(len(steps))
    result.verified = asyncio.run(_verify(url))
    cores = os.cpu_count() or 1
    rate = GOALS[("create", "postgresql", variant)][1]
    log(
        f"   {result.rps:8.0f} creates/s  CPU per create: PostgreSQL"
        f" {measured.database_cpu_us:,.0f} µs + the replaying client {measured.client_cpu_us:,.0f}"
        f" µs  counters {'OK' if result.verified else 'MISMATCH'}"
    )
    log(
        f"   PostgreSQL alone allows at most {cores * 1e6 / measured.database_cpu_us:,.0f}"
        f" creates/s on {cores} cores, with a server that cost nothing; the goal is {rate:,}"
    )
    return result


def run_floor(
    url: str, recorded: list[floor.Recorded], profile: Profile, replay: Result | None
) -> list[Result]:
    """The SQLite create floor (bench/floor.py): as the schema is, then with the indexes that
    serve only reads dropped. The database is not used afterwards. With the replay scenario's
    result (the HTTP, authentication and idempotency path with one lookup), it also prints
    the sum of the two floors beside what the create goal leaves one process."""
    path = url.removeprefix("sqlite:///")
    steps = floor.steps_of(*recorded)
    results = []
    for name in ("create-floor", "create-floor-unique-indexes-only"):
        if name != "create-floor":
            dropped = floor.drop_read_only_indexes(path)
            log(f"-- sqlite {name}: dropped {len(dropped)} indexes ({', '.join(dropped)})")
        else:
            log(f"-- sqlite {name}: a create's {len(steps)} statements replayed without HTTP")
        measured = floor.measure(path, steps, profile.floor_creates, profile.floor_creates // 10)
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
    if replay is not None:
        sql, http = results[0].cpu_us_per_request, replay.cpu_us_per_request
        budget = 1e6 / GOALS[("create", "sqlite", "hot")][1]
        log(
            f"   floors of a create: SQLite {sql:,.0f} + the replay's path {http:,.0f} = "
            f"{sql + http:,.0f} µs before any of Create Attendee's own Python; "
            f"the goal leaves {budget:,.0f} µs of one process's core"
        )
    return results


# -- scenarios --------------------------------------------------------------------------------

# (scenario, database, variant) → (the goal as the issue states it, its rate in req/s)
GOALS = {
    ("create", "sqlite", "hot"): ("≥ 2,500 req/s, p99 ≤ 30 ms, 0 errors", 2_500),
    ("create", "postgresql", "spread"): ("≥ 2,000 req/s, p99 ≤ 50 ms", 2_000),
    ("create", "postgresql", "hot"): ("≥ 1,000 req/s, p99 ≤ 100 ms", 1_000),
    ("replay", "sqlite", ""): ("≥ 4,000 req/s", 4_000),
    ("list", "sqlite", ""): ("≥ 1,500 req/s, p99 ≤ 50 ms", 1_500),
}


def server_environment(url: str, workdir: Path) -> dict[str, str]:
    """The servers' settings: as shipped, but for the access log, rate limits and Redis."""
    env = {
        **os.environ,
        "TESSERA_DATABASE_URL": url,
        "TESSERA_ACCESS_LOG": "false",
        "TESSERA_RATE_LIMIT_PER_MINUTE": "0",
        "TESSERA_MAIL_DIR": str(workdir / "mail"),
    }
    env.pop("TESSERA_REDIS_URL", None)
    return env


def migrated_with_key(env: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """Migrate the database and make an organization and an API key with the CLI, as a user
    would; returns the organization's ID and the key (with its secret)."""
    subprocess.run([str(TESSERA), "db", "upgrade"], env=env, check=True, capture_output=True)
    org = cli(env, "orgs", "create", "Bench")["id"]
    return org, cli(env, "keys", "create", "--org", org, "--name", "bench")


def run_database(
    kind: str, profile: Profile, workdir: Path, results: list[Result], only: set[str]
) -> None:
    url = fresh_database(kind, workdir)
    env = server_environment(url, workdir)
    try:
        log(f"\n== {kind}: migrating and populating")
        org, key = migrated_with_key(env)
        pop = asyncio.run(_populate(url, org, key["id"], profile, spread=64))
        statements, recorded, created = statements_per_request(url, key["key"], pop)
        hot = (pop.hot_event_id, pop.hot_class_id)
        log(
            "  SQL statements per request: "
            + ", ".join(f"{k} {v:.1f}" for k, v in statements.items())
        )

        plans: list[tuple[str, str, int, bool]] = []  # (scenario, variant, processes, separate)
        if kind == "sqlite":
            plans = [
                ("create", "hot", 1, False),
                ("replay", "", 1, False),
                ("list", "", 1, False),
                ("get", "", 1, False),
            ]
        else:
            plans = [
                ("create", "spread", 2, True),
                ("create", "hot", 2, True),
                ("replay", "", 2, True),
                ("list", "", 2, True),
            ]
        for scenario, variant, processes, separate in plans:
            if only and scenario not in only:
                continue
            results.append(
                run_scenario(
                    kind,
                    scenario,
                    variant,
                    processes,
                    separate,
                    env,
                    key,
                    pop,
                    statements,
                    profile,
                    workdir,
                    url,
                )
            )
        if kind == "postgresql" and recorded and (not only or "create" in only):
            for variant, targets in (("spread", pop.spread), ("hot", [hot])):
                results.append(run_postgres_floor(url, recorded, variant, targets, hot, profile))
        if kind == "sqlite" and recorded and (not only or "create" in only):
            create = next(
                (r for r in results if r.database == kind and r.scenario == "create-hot"), None
            )
            ceiling = run_ceiling(url, recorded, created, env, key, pop, profile, workdir)
            results.append(ceiling)
            if create is not None:
                log(
                    f"   Tessera's create: {create.rps / ceiling.rps:.0%} of the ceiling's req/s,"
                    f" {create.cpu_us_per_request / ceiling.cpu_us_per_request:.1f} times its CPU"
                    " per request"
                )
            replay = next(
                (r for r in results if r.database == kind and r.scenario == "replay"), None
            )
            results.extend(run_floor(url, recorded, profile, replay))
    finally:
        drop_database(url)


def run_scenario(
    kind: str,
    scenario: str,
    variant: str,
    processes: int,
    separate: bool,
    env: dict[str, str],
    key: dict[str, Any],
    pop: Population,
    statements: dict[str, float],
    profile: Profile,
    workdir: Path,
    url: str,
) -> Result:
    label = f"{scenario}" + (f" ({variant})" if variant else "")
    log(
        f"-- {kind} {label}: {processes} process(es), {profile.connections} connections, "
        f"{profile.duration}s"
    )
    servers = Servers(env, workdir, processes, separate)
    try:
        servers.wait_ready()
        secret = key["key"]
        nonce = uuid.uuid4().hex[:6]
        if scenario == "create":
            targets = [(pop.hot_event_id, pop.hot_class_id)] if variant == "hot" else pop.spread
            scripts = [
                create_script(secret, targets, f"{nonce}{i}") for i in range(len(servers.ports))
            ]
        elif scenario == "replay":
            stored = _store_replays(servers.ports[0], secret, pop, 64)
            scripts = [replay_script(secret, pop.hot_event_id, stored)] * len(servers.ports)
        elif scenario == "list":
            path = f"/api/v1/events/{pop.big_event_id}/attendees?page=3&page_size=50"
            scripts = [get_script(secret, path)] * len(servers.ports)
        else:
            path = f"/api/v1/events/{pop.big_event_id}/attendees/{pop.sample_ticket_id}"
            scripts = [get_script(secret, path)] * len(servers.ports)
        name = result_name(scenario, variant)
        result = _measure(kind, name, processes, servers, scripts, nonce, profile, workdir)
        result.statements_per_request = statements.get(scenario)
        result.rss_mb = [round(_rss_mb(pid), 1) for pid in servers.worker_pids()]
        result.goal, goal_rate = GOALS.get((scenario, kind, variant), ("", None))
    finally:
        servers.stop()
    if scenario == "create":
        result.verified = asyncio.run(_verify(url))
    log(
        f"   {result.rps:8.0f} req/s  p50 {result.p50_ms:.1f} ms  p95 {result.p95_ms:.1f} ms  "
        f"p99 {result.p99_ms:.1f} ms  non-2xx {result.non_2xx}  "
        f"CPU {result.cpu_us_per_request:.0f} µs/req  RSS {result.rss_mb} MB"
        + (
            f"  counters {'OK' if result.verified else 'MISMATCH'}"
            if result.verified is not None
            else ""
        )
    )
    log("   " + cpu_budget(result, goal_rate))
    return result


def _measure(
    kind: str,
    name: str,
    processes: int,
    servers: Servers,
    scripts: list[str],
    nonce: str,
    profile: Profile,
    workdir: Path,
) -> Result:
    """A warm-up, then the measured load: figures from wrk, CPU from /proc."""
    if profile.warmup:
        warm = [s.replace(nonce, nonce + "w") for s in scripts]
        drive(servers, warm, profile.warmup, profile.connections, workdir)
    database_pids = _postgres_pids() if kind == "postgresql" else []
    cpu_before = _cpu_seconds(servers.pids())
    database_before = _cpu_seconds(database_pids)
    with _sampled(servers, profile, f"{kind}-{name}"):
        load_before = _children_cpu_seconds()
        figures = drive(servers, scripts, profile.duration, profile.connections, workdir)
        load = _children_cpu_seconds() - load_before
    cpu = _cpu_seconds(servers.pids()) - cpu_before
    database = _cpu_seconds(database_pids) - database_before
    result = Result(name, kind, processes)
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


def run_ceiling(
    url: str,
    recorded: list[floor.Recorded],
    created: bytes,
    env: dict[str, str],
    key: dict[str, Any],
    pop: Population,
    profile: Profile,
    workdir: Path,
) -> Result:
    """The SQLite create's ceiling (bench/ceiling.py): a bare server that only parses HTTP,
    replays a real create's statements and answers its bytes, under the create scenario's
    load."""
    steps = floor.steps_of(*recorded)
    steps_file = workdir / "ceiling-steps.pickle"
    ceiling.write_steps(steps_file, url.removeprefix("sqlite:///"), steps, created)
    log(
        f"-- sqlite create-ceiling: HTTP parsing and a create's {len(steps)} statements, nothing"
        f" else; 1 process, {profile.connections} connections, {profile.duration}s"
    )
    command = [sys.executable, str(HERE / "ceiling.py"), "--steps", str(steps_file)]
    servers = Servers(env, workdir, 1, False, command=command)
    try:
        servers.wait_ready()
        nonce = uuid.uuid4().hex[:6]
        scripts = [create_script(key["key"], [(pop.hot_event_id, pop.hot_class_id)], nonce)]
        result = _measure("sqlite", "create-ceiling", 1, servers, scripts, nonce, profile, workdir)
        result.statements_per_request = float(len(steps))
        result.rss_mb = [round(_rss_mb(pid), 1) for pid in servers.worker_pids()]
    finally:
        servers.stop()
    result.verified = asyncio.run(_verify(url))  # it made real creates: counters still = rows
    log(
        f"   {result.rps:8.0f} req/s  p50 {result.p50_ms:.1f} ms  p95 {result.p95_ms:.1f} ms  "
        f"p99 {result.p99_ms:.1f} ms  non-2xx {result.non_2xx}  "
        f"CPU {result.cpu_us_per_request:.0f} µs/req  counters "
        + ("OK" if result.verified else "MISMATCH")
    )
    log("   " + cpu_budget(result, GOALS[("create", "sqlite", "hot")][1], server="the ceiling"))
    return result


def cpu_budget(result: Result, goal_rate: int | None, server: str = "Tessera") -> str:
    """Where the CPU of a request went, beside what the goal's rate leaves for it."""
    parts = [f"{server} {result.cpu_us_per_request:,.0f}"]
    if result.database_cpu_us_per_request is not None:
        parts.append(f"PostgreSQL {result.database_cpu_us_per_request:,.0f}")
    parts.append(f"wrk {result.load_cpu_us_per_request or 0:,.0f}")
    total = (
        result.cpu_us_per_request
        + (result.database_cpu_us_per_request or 0)
        + (result.load_cpu_us_per_request or 0)
    )
    line = f"CPU per request (µs): {' + '.join(parts)} = {total:,.0f}"
    if goal_rate:
        cores = os.cpu_count() or 1
        budget = cores * 1e6 / goal_rate
        line += f"; at the goal's {goal_rate:,} req/s, {cores} cores leave {budget:,.0f}"
        if result.processes == 1:
            line += f", and one process's core {1e6 / goal_rate:,.0f} for the server"
    return line


def result_name(scenario: str, variant: str) -> str:
    return scenario + (f"-{variant}" if variant else "")


@contextmanager
def _sampled(servers: Servers, profile: Profile, name: str) -> Iterator[None]:
    """With --profile, py-spy samples every serving process during the measured run and
    writes collapsed stacks (one file per process; flamegraph.pl or speedscope read them)."""
    if profile.py_spy_dir is None:
        yield
        return
    spies = [
        subprocess.Popen(
            [
                str(Path(sys.executable).parent / "py-spy"),
                "record",
                "--rate",
                os.environ.get("BENCH_PY_SPY_RATE", "100"),
                "--format",
                "raw",
                "--duration",
                str(profile.duration),
                "--pid",
                str(pid),
                "--output",
                str(profile.py_spy_dir / f"{name}-{pid}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid in servers.worker_pids()
    ]
    try:
        yield
    finally:
        for spy in spies:
            spy.wait(30)
    log(f"   py-spy samples written to {profile.py_spy_dir}/{name}-*.txt")


def _store_replays(port: int, key: str, pop: Population, count: int) -> list[tuple[str, str]]:
    """Send `count` keyed requests once, so the load can replay them."""
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


def run_soak(total: int, profile: Profile, workdir: Path) -> int:
    """Create Attendee on SQLite until ``total`` requests have been served, with the server's
    RSS read after every minute of load: the goal is a flat line under 150 MB."""
    url = fresh_database("sqlite", workdir)
    env = server_environment(url, workdir)
    org, key = migrated_with_key(env)
    pop = asyncio.run(_populate(url, org, key["id"], profile, spread=1))
    servers = Servers(env, workdir, 1, False)
    served, errors, samples = 0, 0, []
    minute = 1 if profile.name == "smoke" else 60  # the smoke run's "minutes" are seconds
    try:
        servers.wait_ready()
        chunk = 0
        while served < total:
            script = create_script(key["key"], [(pop.hot_event_id, pop.hot_class_id)], f"s{chunk}")
            figures = drive(servers, [script], minute, profile.connections, workdir)
            served += figures["requests"]
            errors += figures["non2xx"] + figures["socket_errors"]
            rss = max(_rss_mb(pid) for pid in servers.worker_pids())
            samples.append(round(rss, 1))
            log(
                f"  soak: {served:,}/{total:,} creates, "
                f"{figures['requests'] / minute:,.0f} req/s, RSS {rss:.1f} MB"
            )
            chunk += 1
    finally:
        servers.stop()
    verified = asyncio.run(_verify(url))
    log(
        f"soak: {served:,} creates, {errors} errors, RSS per minute (MB): {samples}, "
        f"counters {'OK' if verified else 'MISMATCH'}"
    )
    print("BENCH_SOAK " + json.dumps({"creates": served, "errors": errors, "rss_mb": samples}))
    return 0 if verified and not errors else 1


def write_reports(results: list[Result], profile: Profile) -> None:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    with (out / "results.jsonl").open("a") as lines:
        for result in results:
            lines.write(json.dumps({"at": stamp, "profile": profile.name, **asdict(result)}) + "\n")
    rows = [
        "| scenario | database | processes | req/s | p50 ms | p95 ms | p99 ms | non-2xx | "
        "CPU µs/req | PostgreSQL CPU µs/req | wrk CPU µs/req | SQL/req | RSS MB | counters | "
        "goal |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for r in results:
        statements = f"{r.statements_per_request:.1f}" if r.statements_per_request else "-"
        verified = "" if r.verified is None else ("OK" if r.verified else "MISMATCH")
        database = f"{r.database_cpu_us_per_request:.0f}" if r.database_cpu_us_per_request else "-"
        load = f"{r.load_cpu_us_per_request:.0f}" if r.load_cpu_us_per_request else "-"
        rows.append(
            f"| {r.scenario} | {r.database} | {r.processes} | {r.rps:,.0f} | {r.p50_ms:.1f} | "
            f"{r.p95_ms:.1f} | {r.p99_ms:.1f} | {r.non_2xx} | {r.cpu_us_per_request:.0f} | "
            f"{database} | {load} | {statements} | {', '.join(str(m) for m in r.rss_mb)} | "
            f"{verified} | {r.goal} |"
        )
    header = (
        f"# Benchmark results\n\nLast run: {stamp}, profile `{profile.name}` "
        f"({profile.duration}s per scenario after {profile.warmup}s warm-up, "
        f"{profile.connections} connections, {profile.attendees:,} attendees and "
        f"{profile.stored_keys:,} stored idempotency keys populated), on {platform.node()} "
        f"({os.cpu_count()} cores). Produced by `make bench`; see bench/README.md.\n\n"
    )
    (HERE / "RESULTS.md").write_text(header + "\n".join(rows) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true")
    group.add_argument("--smoke", action="store_true")
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--only", default="", help="comma-separated scenarios to run, e.g. create,list"
    )
    parser.add_argument(
        "--profile",
        metavar="DIR",
        type=Path,
        help="sample the servers with py-spy during each measured run; stacks go to DIR",
    )
    parser.add_argument(
        "--soak",
        metavar="N",
        type=int,
        help="instead of the scenarios: N Create Attendee requests on SQLite, RSS every minute",
    )
    args = parser.parse_args()
    profile = PROFILES["smoke" if args.smoke else "quick" if args.quick else "full"]
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
        profile = replace(profile, py_spy_dir=args.profile.resolve())
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install wrk", file=sys.stderr)
        return 2
    if args.soak:
        with tempfile.TemporaryDirectory(prefix="tessera-soak-") as tmp:
            return run_soak(args.soak, profile, Path(tmp))
    results: list[Result] = []
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    with tempfile.TemporaryDirectory(prefix="tessera-bench-") as tmp:
        only = {name for name in args.only.split(",") if name}
        for kind in kinds:
            run_database(kind, profile, Path(tmp), results, only)
    if not args.smoke and not args.only:
        write_reports(results, profile)
        log(f"\nwrote {HERE / 'RESULTS.md'} and {HERE / 'results' / 'results.jsonl'}")
    print("BENCH_SUMMARY " + json.dumps([asdict(r) for r in results]))
    bad = [r for r in results if r.verified is False or r.socket_errors]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
