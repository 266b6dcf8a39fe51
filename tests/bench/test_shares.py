"""Issue 20's goals as shares of the bounds one run measured (bench/shares.py)."""

from __future__ import annotations

from bench.report import Result
from bench.shares import evaluate, markdown


def result(scenario: str, database: str, rps: float, p99: float = 10.0) -> Result:
    return Result(scenario, database, 1, requests=100, rps=rps, p99_ms=p99)


def test_each_share_is_judged_against_its_bound() -> None:
    floor = result("create-floor-spread", "postgresql", 4_000, p99=0.0)
    floor.database_cpu_us_per_request = 314.0
    verdicts = {
        v.goal.split(" ≥")[0]: v
        for v in evaluate(
            [
                result("create-hot", "sqlite", 700),
                result("create-ceiling", "sqlite", 1_000),  # 70 %: met
                result("replay", "sqlite", 7_900),
                result("replay-ceiling", "sqlite", 10_000),  # 79 %: not met
                result("list", "sqlite", 1_600, p99=51.0),  # the rate, but not the p99
                result("create-spread", "postgresql", 1_000),
                floor,
            ]
        )
    }
    assert verdicts["SQLite Create Attendee"].met is True
    assert verdicts["SQLite Create Attendee"].measured.startswith("70% (700 of 1,000 /s")
    assert verdicts["Idempotent replay"].met is False
    assert verdicts["List attendees (50 a page, 100,000 in the event)"].met is False
    spread = verdicts["PostgreSQL create (2 processes, 64 classes)"]
    assert spread.met is False and spread.measured == "25% (1,000 of 4,000 /s)"
    cpu = next(v for v in verdicts.values() if v.goal.startswith("PostgreSQL's own CPU"))
    assert cpu.met is None and cpu.measured.startswith("314 µs")
    table = markdown(list(verdicts.values()))
    assert "| SQLite Create Attendee ≥ 70 % of the ceiling's rate | 70% (700 of 1,000 /s" in table
    assert "| NOT met |" in table and "| compare builds in pairs |" in table


def test_goals_whose_scenarios_did_not_run_are_left_out() -> None:
    assert evaluate([result("get", "sqlite", 3_000)]) == []
    assert markdown([]) == ""
