"""How scenarios are registered and added (bench/scenarios.py, bench/README.md "Adding a
scenario"): the README's example module runs as written, and the registry keeps its order."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench import bounds, delivery, public, scenarios

ROOT = Path(__file__).resolve().parents[2]


def readme_example() -> str:
    """The Python block of bench/README.md's "Adding a scenario" section."""
    readme = (ROOT / "bench" / "README.md").read_text()
    section = readme.split("## Adding a scenario", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert found, "bench/README.md: 'Adding a scenario' has no Python example"
    return found.group(1)


@pytest.mark.slow
def test_the_readmes_scenario_module_runs_on_its_own(tmp_path: Path) -> None:
    if shutil.which("wrk") is None:
        pytest.fail("wrk is not installed (apt-get install wrk); .ci/run installs it")
    reports = [ROOT / "bench" / "RESULTS.md", ROOT / "bench" / "results" / "results.jsonl"]
    before = [path.stat().st_mtime_ns if path.exists() else None for path in reports]
    module = tmp_path / "event.py"
    module.write_text(readme_example())
    out = subprocess.run(
        [sys.executable, str(module), "--smoke", "--database", "sqlite"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},  # it sits outside bench/ here
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    line = next(x for x in out.stdout.splitlines() if x.startswith("BENCH_SUMMARY "))
    (result,) = json.loads(line.removeprefix("BENCH_SUMMARY "))
    assert result["scenario"] == "event" and result["database"] == "sqlite"
    assert result["requests"] > 0 and result["non_2xx"] == 0 and result["socket_errors"] == 0
    assert result["cpu_us_per_request"] > 0 and result["load_cpu_us_per_request"] > 0
    assert result["rss_mb"], result
    assert "-- sqlite event: 1 process(es)" in out.stdout
    assert "CPU per request (µs): Tessera" in out.stdout
    after = [path.stat().st_mtime_ns if path.exists() else None for path in reports]
    assert after == before  # a module run on its own writes no report


def test_the_sqlite_floors_run_last_for_they_drop_indexes() -> None:
    assert scenarios.SQLITE[-1].run is bounds.sqlite_floors
    assert scenarios.POSTGRESQL[-1].run is bounds.postgresql_floors


def test_the_bounds_run_after_the_scenarios_they_are_compared_with() -> None:
    names = [getattr(s.run, "scenario", None) for s in scenarios.SQLITE]
    ceiling = [s.run for s in scenarios.SQLITE].index(bounds.sqlite_ceiling)
    assert names.index("create") < ceiling  # it prints the served create as a share of it
    assert names.index("replay") < len(names) - 1  # the floors add the replay's path
    replay_ceiling = [s.run for s in scenarios.SQLITE].index(bounds.sqlite_replay_ceiling)
    assert names.index("replay") < replay_ceiling  # it prints the served replay as a share


def test_delivery_runs_before_the_public_rush_and_after_the_create() -> None:
    # the rush leaves confirmations queued (the next servers deliver them: not an idle server);
    # the public form is read as a share of the served create-hot of the same run
    runs = [s.run for s in scenarios.SQLITE]
    assert runs.index(delivery.scenario) < runs.index(public.scenario)
    assert [getattr(r, "scenario", None) for r in runs].index("create") < runs.index(
        public.scenario
    )


def _smoke_run(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--smoke", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )


def test_an_unknown_scenario_name_is_refused() -> None:
    out = _smoke_run("--only", "creat")
    assert out.returncode == 2
    assert "--only: no scenario creat" in out.stderr


def test_an_unknown_server_is_refused() -> None:
    out = _smoke_run("--server", "uvicorn,gunicorn")
    assert out.returncode == 2
    assert "--server: no server gunicorn" in out.stderr


def test_only_the_api_scenarios_run_under_each_server() -> None:
    # the others (bounds, modules) run once, under the first --server
    for registered in (scenarios.SQLITE, scenarios.POSTGRESQL):
        for scenario in registered:
            assert scenario.per_server == (type(scenario.run).__name__ == "Served"), scenario
