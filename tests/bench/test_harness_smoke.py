"""A seconds-long run of the benchmark harness, so it cannot rot. No timing assertions."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_harness(*args: str) -> str:
    """``bench/run.py --smoke ARGS``; its standard output, once it has exited cleanly."""
    if shutil.which("wrk") is None:
        pytest.fail("wrk is not installed (apt-get install wrk); .ci/run installs it")
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--smoke", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


@pytest.mark.slow
def test_benchmark_harness_runs_and_verifies_counters() -> None:
    stdout = run_harness("--database", "sqlite")
    line = next(x for x in stdout.splitlines() if x.startswith("BENCH_SUMMARY "))
    results = json.loads(line.removeprefix("BENCH_SUMMARY "))
    built_in = {"replay", "list", "get"}
    served = [r for r in results if r["scenario"] in built_in]
    served.append(next(r for r in results if r["scenario"] == "create-hot"))
    assert {r["scenario"] for r in served} == {"create-hot", "replay", "list", "get"}
    modules = {r["scenario"]: r for r in results if r["scenario"] not in built_in}
    assert set(modules) - {"create-hot"} == {
        *MODULE_SCENARIOS,
        "create-ceiling",
        "replay-ceiling",
        "replay-asgi-ceiling",
        "create-floor",
        "create-floor-unique-indexes-only",
    }
    for result in served:
        assert result["requests"] > 0, result
        assert result["non_2xx"] == 0, result
        assert result["statements_per_request"] is not None
        assert result["rss_mb"], result
        assert result["load_cpu_us_per_request"] > 0, result  # wrk's CPU is measured
    create = next(r for r in results if r["scenario"] == "create-hot")
    assert create["verified"] is True
    # the ceiling: a bare server replaying the create's statements, under the same load
    ceiling = next(r for r in results if r["scenario"] == "create-ceiling")
    assert ceiling["requests"] > 0 and ceiling["non_2xx"] == 0, ceiling
    assert ceiling["statements_per_request"] == create["statements_per_request"]
    assert ceiling["verified"] is True  # its replays are real creates: counters = rows
    assert "Tessera's create:" in stdout and "of the ceiling's req/s" in stdout
    # the bare replay: the stored outcome's lookup and the stored bytes, under the replay's load
    bare_replay = next(r for r in results if r["scenario"] == "replay-ceiling")
    assert bare_replay["requests"] > 0 and bare_replay["non_2xx"] == 0, bare_replay
    assert bare_replay["statements_per_request"] == 1.0
    assert "Tessera's replay:" in stdout and "of the bare replay's req/s" in stdout
    # the same replay as one ASGI call under uvicorn: what the server takes before Tessera's code
    asgi_replay = next(r for r in results if r["scenario"] == "replay-asgi-ceiling")
    assert asgi_replay["requests"] > 0 and asgi_replay["non_2xx"] == 0, asgi_replay
    assert "of the ASGI replay's req/s" in stdout
    floors = {r["scenario"]: r for r in results if r["scenario"].startswith("create-floor")}
    assert set(floors) == {"create-floor", "create-floor-unique-indexes-only"}
    for result in floors.values():  # the create's own statements, replayed
        assert result["statements_per_request"] == create["statements_per_request"]
        assert result["requests"] > 0 and result["cpu_us_per_request"] > 0
    assert "CPU per request (µs): Tessera" in stdout
    assert "floors of a create: SQLite" in stdout
    # issue 20's goals, read off this run: each with its verdict
    assert "== the request path's goals (issue 20)" in stdout
    for goal in (
        "SQLite Create Attendee ≥ 70 % of the ceiling's rate: ",
        "Idempotent replay ≥ 80 % of the bare replay's rate: ",
        "List attendees (50 a page, 100,000 in the event) ≥ 1,500 req/s",
    ):
        line = next(x for x in stdout.splitlines() if goal in x)
        assert line.endswith((": met", ": NOT met")), line
    assert_module_scenarios_ran(modules, stdout)


# The rows of the scenario modules make bench runs after the built-in ones (bench/scenarios.py).
MODULE_SCENARIOS = {
    "delivery",
    "export",
    "import",
    "attendees-page",
    "attendees-deep-page",
    "attendees-search-one",
    "attendees-search-many",
    "attendees-newest-first",
    "door-scan",
    "event-page",
    "public-register",
}


def assert_module_scenarios_ran(results: dict[str, dict[str, object]], stdout: str) -> None:
    """Each module's code path ran to its figures, each row beside its goal (no timing)."""
    for name in MODULE_SCENARIOS:
        result = results[name]
        assert result["requests"], result
        assert result["goal"] and result["met"] is not None, result
        assert result["rss_mb"] and result["cpu_us_per_request"], result
    assert results["delivery"]["requests"] == 5  # the smoke profile's emails, each found
    assert results["export"]["requests"] == 500  # every populated attendee, streamed
    assert "created 50, failed 0, duplicates 0" in str(results["import"]["detail"])
    for name in ("event-page", "public-register"):  # wrk loads
        assert results[name]["non_2xx"] == 0 and results[name]["socket_errors"] == 0, results[name]
    assert results["public-register"]["verified"] is True  # 0 oversold: counters = rows
    assert "of create-hot's" in str(results["public-register"]["detail"])
    assert stdout.count("   goal ") >= len(MODULE_SCENARIOS)


@pytest.mark.slow
def test_postgresql_creates_and_their_floors_run_and_verify_counters() -> None:
    stdout = run_harness("--database", "postgresql", "--only", "create")
    line = next(x for x in stdout.splitlines() if x.startswith("BENCH_SUMMARY "))
    results = {r["scenario"]: r for r in json.loads(line.removeprefix("BENCH_SUMMARY "))}
    assert set(results) == {
        "create-spread",
        "create-hot",
        "create-floor-spread",
        "create-floor-hot",
    }
    for result in results.values():
        assert result["requests"] > 0 and result["non_2xx"] == 0, result
        assert result["verified"] is True, result  # counters = rows after each
        assert result["database_cpu_us_per_request"] > 0, result
    for variant in ("spread", "hot"):  # the floors replay what a served create sends
        floor = results[f"create-floor-{variant}"]
        assert floor["statements_per_request"] == results["create-spread"]["statements_per_request"]
    assert "PostgreSQL alone allows at most" in stdout
    line = next(x for x in stdout.splitlines() if "≥ 80 % of the floor's rate: " in x)
    assert line.endswith((": met", ": NOT met")), line


@pytest.mark.slow
def test_soak_mode_runs_and_reports_rss() -> None:
    stdout = run_harness("--soak", "200")
    line = next(x for x in stdout.splitlines() if x.startswith("BENCH_SOAK "))
    soak = json.loads(line.removeprefix("BENCH_SOAK "))
    assert soak["creates"] >= 200
    assert soak["errors"] == 0
    assert soak["rss_mb"] and all(rss > 0 for rss in soak["rss_mb"])
