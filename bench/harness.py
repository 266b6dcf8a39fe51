"""What every scenario is given, and how scenarios run on a database.

A scenario is a function ``(Setup) -> list[Result]`` with a name (:class:`Scenario`):
bench/scenarios.py lists the ones ``make bench`` runs. :func:`run_database` prepares one fresh,
migrated, populated database, counts each request's SQL statements in-process, then runs the
scenarios on it in order. :func:`standalone` does the same for one scenario module run on its
own (``python bench/<module>.py --quick``); see bench/README.md, "Adding a scenario".
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.databases import (
    drop_database,
    fresh_database,
    migrated_with_key,
    populated,
    server_environment,
)
from bench.floor import Recorded
from bench.populate import Population
from bench.processes import Servers
from bench.profiles import PROFILES, Profile
from bench.report import Result, log, summary_line
from bench.servers import SERVERS, command
from bench.statements import statements_per_request

DATABASES = ("sqlite", "postgresql")


@dataclass
class Setup:
    """One fresh database, migrated and populated before any load, and how to serve it."""

    kind: str  # "sqlite" or "postgresql"
    url: str
    env: dict[str, str]  # for `tessera serve` and the CLI (bench/databases.py)
    organization_id: str
    key: dict[str, Any]  # the CLI's key; its secret (for X-API-KEY) is key["key"]
    population: Population
    profile: Profile
    workdir: Path
    # Filled by run_database for the built-in scenarios and the floors (bench/statements.py):
    statements: dict[str, float] = field(default_factory=dict)
    recorded: list[Recorded] = field(default_factory=list)
    created: bytes = b""
    # What the scenarios before this one on this database measured, in order.
    results: list[Result] = field(default_factory=list)
    server: str = "uvicorn"  # the HTTP server setup.servers() starts (bench/servers.py)

    @property
    def secret(self) -> str:
        secret: str = self.key["key"]
        return secret

    @property
    def processes(self) -> int:
        """SQLite: one process (one writer; ``--sqlite-processes`` for more); PostgreSQL: two
        servers sharing the database."""
        return self.profile.sqlite_processes if self.kind == "sqlite" else 2

    def servers(self) -> Servers:
        """Tessera under ``self.server`` (`tessera serve` unless ``--server`` said otherwise) as
        this database is served; not yet ready (see processes.running)."""
        separate = self.kind == "postgresql"
        workers = 1 if separate else self.processes
        serve = command(self.server, workers)
        return Servers(self.env, self.workdir, self.processes, separate, command=serve)

    def result(self, scenario: str) -> Result | None:
        """What an earlier scenario on this database measured (e.g. ``create-hot``); with
        several ``--server``, under the first of them."""
        return next(
            (r for r in self.results if r.scenario == scenario and r.server == self.server), None
        )


@dataclass(frozen=True)
class Scenario:
    name: str  # what --only selects; several entries may share one (the create's bounds)
    run: Callable[[Setup], list[Result]]
    # Run once under each --server, in --rounds interleaved rounds (the API's scenarios);
    # the others run once, under the first --server.
    per_server: bool = False


@contextmanager
def prepared(kind: str, profile: Profile, workdir: Path, spread: int = 64) -> Iterator[Setup]:
    """A fresh database of ``kind``, migrated, with an organization and key made by the CLI
    and populated (bench/populate.py; ``spread`` events of one class each beside the big and
    hot ones); a PostgreSQL database is dropped afterwards."""
    url = fresh_database(kind, workdir)
    env = server_environment(url, workdir)
    try:
        log(f"\n== {kind}: migrating and populating")
        org, key = migrated_with_key(env)
        pop = populated(url, org, key["id"], profile.attendees, profile.stored_keys, spread)
        yield Setup(kind, url, env, org, key, pop, profile, workdir)
    finally:
        drop_database(url)


def run_database(
    kind: str,
    scenarios: Sequence[Scenario],
    profile: Profile,
    workdir: Path,
    servers: Sequence[str] = ("uvicorn",),
    rounds: int = 1,
) -> list[Result]:
    """Every scenario in ``scenarios``, in order, on one prepared database of ``kind``. A
    ``per_server`` scenario runs under each of ``servers`` in turn, ``rounds`` times, the order
    reversed every other round (A B C, C B A, ...) so that what the database accumulates meanwhile
    weighs on each alike; the others run once under the first."""
    with prepared(kind, profile, workdir) as setup:
        setup.statements, setup.recorded, setup.created = statements_per_request(
            setup.url, setup.secret, setup.population
        )
        log(
            "  SQL statements per request: "
            + ", ".join(f"{k} {v:.1f}" for k, v in setup.statements.items())
        )
        for scenario in scenarios:
            if not scenario.per_server:
                setup.server = servers[0]
                setup.results.extend(scenario.run(setup))
                continue
            for round_ in range(rounds):
                for server in servers if round_ % 2 == 0 else list(reversed(servers)):
                    setup.server = server
                    for result in scenario.run(setup):
                        result.server = server
                        setup.results.append(result)
            setup.server = servers[0]
        return setup.results


def arguments(description: str | None) -> argparse.ArgumentParser:
    """The options every entry point shares: the run's length, the databases, py-spy."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawTextHelpFormatter
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true")
    group.add_argument("--smoke", action="store_true")
    parser.add_argument("--database", choices=[*DATABASES, "both"], default="both")
    parser.add_argument(
        "--server",
        default="uvicorn",
        help="the HTTP server(s) Tessera runs under, comma-separated to compare them:\n"
        + ", ".join(SERVERS)
        + " (bench/servers.py; default uvicorn, i.e. tessera serve)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run the API's scenarios this many times under each --server, interleaved",
    )
    parser.add_argument(
        "--sqlite-processes",
        type=int,
        default=1,
        metavar="N",
        help="serve SQLite with N processes (default 1, as make bench measures it)",
    )
    parser.add_argument(
        "--profile",
        metavar="DIR",
        type=Path,
        help="sample the servers with py-spy during each measured run; stacks go to DIR",
    )
    return parser


def profile_of(args: argparse.Namespace) -> Profile:
    profile = PROFILES["smoke" if args.smoke else "quick" if args.quick else "full"]
    profile = replace(profile, sqlite_processes=args.sqlite_processes)
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
        profile = replace(profile, py_spy_dir=args.profile.resolve())
    return profile


def servers_of(args: argparse.Namespace, parser: argparse.ArgumentParser) -> list[str]:
    servers = [name for name in args.server.split(",") if name]
    unknown = sorted(set(servers) - set(SERVERS))
    if unknown or not servers:
        parser.error(
            f"--server: no server {', '.join(unknown)} (the servers: {', '.join(SERVERS)})"
        )
    return servers


def databases_of(args: argparse.Namespace) -> list[str]:
    return list(DATABASES) if args.database == "both" else [args.database]


def wrk_missing() -> bool:
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install wrk", file=sys.stderr)
        return True
    return False


def failed(results: list[Result]) -> bool:
    """A run fails if counters disagree with rows or connections failed (not on slowness)."""
    return any(r.verified is False or r.socket_errors for r in results)


def standalone(
    scenario: Scenario, description: str | None = None, databases: Sequence[str] = DATABASES
) -> int:
    """The ``__main__`` of a scenario module: its scenario alone on fresh databases (those of
    ``databases`` that --database selects), prepared exactly as ``make bench`` prepares them;
    takes --quick, --smoke, --database, --profile. Prints the figures and a BENCH_SUMMARY
    line; writes no report."""
    args = arguments(description).parse_args()
    profile = profile_of(args)
    if wrk_missing():
        return 2
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix=f"tessera-bench-{scenario.name}-") as tmp:
        for kind in databases_of(args):
            if kind in databases:
                results.extend(run_database(kind, [scenario], profile, Path(tmp)))
    print(summary_line(results))
    return 1 if failed(results) else 0
