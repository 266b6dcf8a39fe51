"""Tessera's benchmark: real servers on loopback, populated tables, wrk as the load generator.

    python bench/run.py            # the full run (≈ 8 minutes): make bench
    python bench/run.py --quick    # shorter runs (≈ 4 minutes): make bench-quick
    python bench/run.py --smoke    # seconds; proves the harness works (part of the test suite)
    python bench/run.py --soak 1000000   # RSS over a million creates (≈ 15 minutes)
    python bench/run.py --quick --only create,replay,list --server uvicorn,granian --rounds 3
                                   # the API's scenarios under each server, interleaved

For every scenario it prints req/s, p50/p95/p99 latency, non-2xx responses, CPU µs per request
(of the servers, of PostgreSQL, of wrk), SQL statements per request and server RSS; appends one
JSON line per scenario to bench/results/results.jsonl and writes a Markdown table to
bench/RESULTS.md (not for --smoke or --only). After each create scenario it checks that ticket
rows equal the seat counters. It also measures the create's floors: its statements replayed
without HTTP (bench/floor.py; on PostgreSQL with as many connections as the servers' pools), and
on SQLite its ceiling: a bare server that only parses HTTP and replays them (bench/ceiling.py).

The scenarios and their order are listed in bench/scenarios.py; bench/README.md describes the
modules and how to add a scenario.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import (
    arguments,
    databases_of,
    failed,
    profile_of,
    run_database,
    servers_of,
    wrk_missing,
)
from bench.report import (
    RESULTS_JSONL,
    RESULTS_MD,
    Result,
    log,
    log_comparison,
    summary_line,
    write_reports,
)
from bench.scenarios import REGISTRY, selected
from bench.shares import evaluate, log_verdicts, markdown
from bench.soak import run_soak


def main() -> int:
    parser = arguments(__doc__)
    parser.add_argument(
        "--only", default="", help="comma-separated scenarios to run, e.g. create,list"
    )
    parser.add_argument(
        "--soak",
        metavar="N",
        type=int,
        help="instead of the scenarios: N Create Attendee requests on SQLite, RSS every minute",
    )
    args = parser.parse_args()
    profile = profile_of(args)
    servers = servers_of(args, parser)
    only = {name for name in args.only.split(",") if name}
    known = {s.name for scenarios in REGISTRY.values() for s in scenarios}
    if only - known:
        unknown, names = ", ".join(sorted(only - known)), ", ".join(sorted(known))
        parser.error(f"--only: no scenario {unknown} (the scenarios: {names})")
    if wrk_missing():
        return 2
    if args.soak:
        with tempfile.TemporaryDirectory(prefix="tessera-soak-") as tmp:
            return run_soak(args.soak, profile, Path(tmp))
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="tessera-bench-") as tmp:
        for kind in databases_of(args):
            scenarios = selected(kind, only)
            results.extend(
                run_database(kind, scenarios, profile, Path(tmp), servers, max(1, args.rounds))
            )
    if len(servers) > 1 or args.rounds > 1:
        log_comparison(results, servers)
    verdicts = evaluate(results)
    log_verdicts(verdicts)
    if not args.smoke and not only and servers == ["uvicorn"] and args.rounds <= 1:
        write_reports(results, profile, markdown(verdicts))
        log(f"\nwrote {RESULTS_MD} and {RESULTS_JSONL}")
    print(summary_line(results))
    return 1 if failed(results) else 0


if __name__ == "__main__":
    sys.exit(main())
