"""What `make bench` runs, on each database, in order: the one place a scenario is registered.

Each entry is a name (what ``--only`` selects) and a function ``(Setup) -> list[Result]``
(bench/harness.py). To add a scenario module, import it and add one line at the marked place
of the databases it measures; bench/README.md, "Adding a scenario", says more.

The order is part of what is measured: every scenario runs on the same populated database, so
each sees the rows the earlier ones wrote. The built-in ones keep the order their history in
results.jsonl was measured in; new ones go after them and before the floors (the SQLite floor
drops the indexes that serve reads: nothing may run after it).
"""

from __future__ import annotations

from bench import bounds, dashboard, data_io, delivery, public
from bench.goals import (
    POSTGRESQL_CREATE_HOT,
    POSTGRESQL_CREATE_SPREAD,
    SQLITE_CREATE,
    SQLITE_LIST,
    SQLITE_REPLAY,
)
from bench.harness import Scenario
from bench.served import Served

SQLITE = [
    Scenario("create", Served("create", "hot", SQLITE_CREATE), per_server=True),
    Scenario("replay", Served("replay", goal=SQLITE_REPLAY), per_server=True),
    Scenario("list", Served("list", goal=SQLITE_LIST), per_server=True),
    Scenario("get", Served("get"), per_server=True),
    Scenario("create", bounds.sqlite_ceiling),  # reads create-hot's result
    Scenario("replay", bounds.sqlite_replay_ceiling),  # reads replay's result
    # New scenarios on SQLite here. Delivery first: it wants an idle server, and the public
    # rush leaves confirmation emails queued that the next servers started deliver.
    Scenario("delivery", delivery.scenario),
    Scenario("data", data_io.scenario),
    Scenario("dashboard", dashboard.scenario),  # checks in some of the big event's tickets
    Scenario("public", public.scenario),  # reads create-hot's result
    Scenario("create", bounds.sqlite_floors),  # last: drops indexes; reads replay's result
]

POSTGRESQL = [
    Scenario("create", Served("create", "spread", POSTGRESQL_CREATE_SPREAD), per_server=True),
    Scenario("create", Served("create", "hot", POSTGRESQL_CREATE_HOT), per_server=True),
    Scenario("replay", Served("replay"), per_server=True),
    Scenario("list", Served("list"), per_server=True),
    # New scenarios on PostgreSQL here.
    Scenario("delivery", delivery.scenario),
    Scenario("data", data_io.scenario),
    Scenario("create", bounds.postgresql_floors),
]

REGISTRY = {"sqlite": SQLITE, "postgresql": POSTGRESQL}


def selected(kind: str, only: set[str]) -> list[Scenario]:
    """The scenarios of ``kind``, or those named in ``only`` (--only) if any are."""
    return [s for s in REGISTRY[kind] if not only or s.name in only]
