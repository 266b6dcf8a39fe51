"""What a scenario measured (:class:`Result`) and how it is told: console lines, the CPU budget
line, the Markdown table in bench/RESULTS.md and one JSON line per scenario appended to
bench/results/results.jsonl (whose history later runs are compared with: keep its fields)."""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.goals import Goal
from bench.profiles import Profile

HERE = Path(__file__).resolve().parent
RESULTS_MD = HERE / "RESULTS.md"
RESULTS_JSONL = HERE / "results" / "results.jsonl"


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
    # What a scenario module adds beside the goal (RSS growth, duplicates, a share of the
    # create's rate...), and whether its goal was met; absent from older results.jsonl lines.
    detail: str = ""
    met: bool | None = None
    # The HTTP server Tessera ran under (bench/servers.py; absent from older lines: uvicorn).
    server: str = "uvicorn"


def log(message: str) -> None:
    print(message, flush=True)


def log_served(
    result: Result, goal: Goal | None, server: str = "Tessera", show_rss: bool = True
) -> None:
    """The two lines under a scenario served over HTTP: its figures, then its CPU budget."""
    line = (
        f"   {result.rps:8.0f} req/s  p50 {result.p50_ms:.1f} ms  p95 {result.p95_ms:.1f} ms  "
        f"p99 {result.p99_ms:.1f} ms  non-2xx {result.non_2xx}  "
        f"CPU {result.cpu_us_per_request:.0f} µs/req"
    )
    if show_rss:
        line += f"  RSS {result.rss_mb} MB"
    if result.verified is not None:
        line += f"  counters {'OK' if result.verified else 'MISMATCH'}"
    log(line)
    log("   " + cpu_budget(result, goal.rate if goal else None, server=server))


def log_goal(result: Result) -> None:
    """The line under a scenario module's figures: its goal and whether this run met it."""
    verdict = "" if result.met is None else (": met" if result.met else ": NOT met")
    detail = f"  ({result.detail})" if result.detail else ""
    log(f"   goal {result.goal}{verdict}{detail}")


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


def log_comparison(results: list[Result], servers: list[str]) -> None:
    """Per database and scenario run under several --server: each server's medians over its
    rounds, and its rate as a share of the first server's."""
    log(f"\n== servers compared (medians of each server's rounds; ratios to {servers[0]})")
    log("| database | scenario | server | runs | req/s | p99 ms | CPU µs/req | req/s ratio |")
    log("|---|---|---|---:|---:|---:|---:|---:|")
    groups: dict[tuple[str, str], list[Result]] = {}
    for result in results:
        groups.setdefault((result.database, result.scenario), []).append(result)
    for (database, scenario), group in groups.items():
        if len(group) < 2:  # run once: not one of the scenarios compared
            continue
        base = 0.0
        for server in servers:
            runs = [r for r in group if r.server == server]
            if not runs:
                continue
            rps = _median([r.rps for r in runs])
            base = base or rps
            log(
                f"| {database} | {scenario} | {server} | {len(runs)} | {rps:,.0f} |"
                f" {_median([r.p99_ms for r in runs]):.1f} |"
                f" {_median([r.cpu_us_per_request for r in runs]):,.0f} | {rps / base:.2f} |"
            )


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def summary_line(results: list[Result]) -> str:
    """The line the tests (and any script) read the run's figures from."""
    return "BENCH_SUMMARY " + json.dumps([asdict(r) for r in results])


def write_reports(results: list[Result], profile: Profile, sections: str = "") -> None:
    """The results appended to results.jsonl, and RESULTS.md: the table, then ``sections``
    (Markdown: the goals read off the whole run)."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    RESULTS_JSONL.parent.mkdir(exist_ok=True)
    with RESULTS_JSONL.open("a") as lines:
        for result in results:
            lines.write(json.dumps({"at": stamp, "profile": profile.name, **asdict(result)}) + "\n")
    rows = [
        "| scenario | database | processes | req/s | p50 ms | p95 ms | p99 ms | non-2xx | "
        "CPU µs/req | PostgreSQL CPU µs/req | wrk CPU µs/req | SQL/req | RSS MB | counters | "
        "goal | met | figures beside the goal |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|---|---|",
    ]
    for r in results:
        scenario = r.scenario if r.server == "uvicorn" else f"{r.scenario} [{r.server}]"
        statements = f"{r.statements_per_request:.1f}" if r.statements_per_request else "-"
        verified = "" if r.verified is None else ("OK" if r.verified else "MISMATCH")
        database = f"{r.database_cpu_us_per_request:.0f}" if r.database_cpu_us_per_request else "-"
        load = f"{r.load_cpu_us_per_request:.0f}" if r.load_cpu_us_per_request else "-"
        rows.append(
            f"| {scenario} | {r.database} | {r.processes} | {r.rps:,.0f} | {r.p50_ms:.1f} | "
            f"{r.p95_ms:.1f} | {r.p99_ms:.1f} | {r.non_2xx} | {r.cpu_us_per_request:.0f} | "
            f"{database} | {load} | {statements} | {', '.join(str(m) for m in r.rss_mb)} | "
            f"{verified} | {r.goal} | {'' if r.met is None else ('yes' if r.met else 'no')} | "
            f"{r.detail} |"
        )
    header = (
        f"# Benchmark results\n\nLast run: {stamp}, profile `{profile.name}` "
        f"({profile.duration}s per scenario after {profile.warmup}s warm-up, "
        f"{profile.connections} connections, {profile.attendees:,} attendees and "
        f"{profile.stored_keys:,} stored idempotency keys populated), on {platform.node()} "
        f"({os.cpu_count()} cores). Produced by `make bench`; see bench/README.md.\n\n"
    )
    RESULTS_MD.write_text(header + "\n".join(rows) + "\n" + sections)
