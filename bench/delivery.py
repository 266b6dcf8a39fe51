"""How soon an email queued by a committed Create Attendee is delivered (its ``.eml`` written),
with the server otherwise idle. The goal (issue 16): under 1 s at the median.

Each configuration runs a real ``tessera serve --workers 2`` on a fresh database; with
``separate`` the servers do not deliver (``TESSERA_WORKER_IN_PROCESS=false``) and a ``tessera
worker`` does, woken on PostgreSQL by the servers' ``NOTIFY`` and on SQLite by its poll.
One create at a time: the figure is the time from the ``201`` to the file on disk.

    .venv/bin/python bench/delivery.py [--samples 20] [--database sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.databases import drop_database, fresh_database, migrated_with_key, server_environment
from bench.goals import DELIVERY
from bench.harness import Setup
from bench.processes import TESSERA, cpu_seconds, free_port, running
from bench.report import Result, log, log_goal

GOAL_SECONDS = 1.0


def measure(base_url: str, key: str, mail_dir: Path, samples: int) -> list[float]:
    """Seconds from each create's ``201`` to its ``.eml`` in ``mail_dir``, one create at a time
    with a pause between (an idle server, not a queue)."""
    headers = {"X-API-KEY": key}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        event = client.post(
            "/api/v1/events",
            json={
                "name": "Latency",
                "start": {"utc": "2027-07-15T18:00", "timezone": "UTC"},
                "location": "Hall",
            },
        )
        assert event.status_code == 201, event.text
        event_id = event.json()["data"]["id"]
        tc = client.post(f"/api/v1/events/{event_id}/ticket-classes", json={"name": "General"})
        assert tc.status_code == 201, tc.text
        class_id = tc.json()["data"]["id"]
        seen = {path.name for path in mail_dir.glob("*.eml")} if mail_dir.exists() else set()
        figures = []
        for i in range(samples):
            time.sleep(0.3)  # idle between samples: no delivery round is under way
            address = f"lat-{uuid.uuid4().hex[:8]}-{i}@example.com"
            response = client.post(
                f"/api/v1/events/{event_id}/attendees",
                json={
                    "ticket_class_id": class_id,
                    "contact": {"email": address},
                    "send_email": True,
                },
            )
            answered = time.monotonic()
            assert response.status_code == 201, response.text
            while True:
                new = {p for p in mail_dir.glob("*.eml") if p.name not in seen}
                # Only this create's email counts: make bench shares the mail directory, and a
                # backlog an earlier scenario left is delivered meanwhile. A file is read once
                # it has bytes (its headers, with the address, come first).
                written = {p for p in new if p.stat().st_size}
                if any(address in p.read_text(errors="replace") for p in written):
                    figures.append(time.monotonic() - answered)
                    seen |= {p.name for p in written}
                    break
                seen |= {p.name for p in written}
                if time.monotonic() - answered > 10:
                    raise SystemExit(f"no email within 10 s of create {i}")
                time.sleep(0.002)
    return figures


def run(kind: str, separate: bool, samples: int) -> list[float]:
    with tempfile.TemporaryDirectory(prefix="tessera-delivery-") as tmp:
        workdir = Path(tmp)
        url = fresh_database(kind, workdir)
        env = server_environment(url, workdir)
        env["TESSERA_WORKER_IN_PROCESS"] = "false" if separate else "true"
        procs: list[subprocess.Popen[bytes]] = []
        try:
            _org, key = migrated_with_key(env)
            port = free_port()
            serve = [str(TESSERA), "serve", "--workers", "2", "--port", str(port)]
            logs = [workdir / "serve.log", workdir / "worker.log"]
            procs.append(subprocess.Popen(serve, env=env, cwd=workdir, stderr=logs[0].open("wb")))
            if separate:
                worker = [str(TESSERA), "worker"]
                procs.append(
                    subprocess.Popen(worker, env=env, cwd=workdir, stderr=logs[1].open("wb"))
                )
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{base}/readyz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
            time.sleep(1.0)  # the workers have started listening
            try:
                return measure(base, key["key"], Path(env["TESSERA_MAIL_DIR"]), samples)
            except SystemExit:
                print_tails(logs)
                raise
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=40)
            drop_database(url)


def print_tails(logs: list[Path]) -> None:
    """The servers' own account of a lost email, before their directory goes."""
    for path in (path for path in logs if path.exists()):
        tail = path.read_text(errors="replace").splitlines()[-40:]
        print(f"   {path.name}, last {len(tail)} lines:", *tail, sep="\n     ")


# Emails timed per make bench profile: each costs ≈ 0.3 s of idle pause.
SAMPLES = {"full": 20, "quick": 10, "smoke": 5}


def percentile(figures: list[float], share: int) -> float:
    return statistics.quantiles(figures, n=100)[share - 1] if len(figures) >= 20 else max(figures)


def scenario(setup: Setup) -> list[Result]:
    """make bench's delivery scenario: the database's usual servers (one process on SQLite,
    two sharing PostgreSQL), delivering in-process as shipped (``TESSERA_WORKER_IN_PROCESS``
    defaults to on), idle but for one create at a time."""
    samples = SAMPLES.get(setup.profile.name, 10)
    log(f"-- {setup.kind} delivery: {setup.processes} process(es), {samples} creates one at a time")
    with running(setup.servers()) as servers:
        cpu_before = cpu_seconds(servers.pids())
        base = f"http://127.0.0.1:{servers.ports[0]}"
        try:
            figures = measure(base, setup.secret, Path(setup.env["TESSERA_MAIL_DIR"]), samples)
        except SystemExit:
            print_tails(servers.logs())
            raise
        cpu = cpu_seconds(servers.pids()) - cpu_before
        result = Result("delivery", setup.kind, setup.processes, requests=len(figures))
        result.rss_mb = servers.rss_mb()
    median = statistics.median(figures)
    result.p50_ms = median * 1000
    result.p95_ms = percentile(figures, 95) * 1000
    result.p99_ms = percentile(figures, 99) * 1000
    result.cpu_us_per_request = cpu * 1e6 / len(figures)  # the create and its delivery
    result.goal, result.met = DELIVERY.text, median < GOAL_SECONDS
    result.detail = f"median {median * 1000:.0f} ms, delivered in the serving processes"
    log(
        f"   median {result.p50_ms:.1f} ms  p95 {result.p95_ms:.1f} ms  max "
        f"{max(figures) * 1000:.1f} ms  ({len(figures)} emails)  "
        f"CPU {result.cpu_us_per_request:,.0f} µs per create and delivery  RSS {result.rss_mb} MB"
    )
    log_goal(result)
    return [result]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    worst = 0.0
    for kind in kinds:
        for separate in (False, True):
            figures = run(kind, separate, args.samples)
            median = statistics.median(figures)
            worst = max(worst, median)
            where = "tessera worker" if separate else "in the servers"
            print(
                f"{kind:<10} delivery {where:<15} median {median * 1000:6.1f} ms"
                f"  p90 {statistics.quantiles(figures, n=10)[-1] * 1000:6.1f} ms"
                f"  max {max(figures) * 1000:6.1f} ms  ({len(figures)} emails)",
                flush=True,
            )
    verdict = "met" if worst < GOAL_SECONDS else "MISSED"
    print(f"goal: median under {GOAL_SECONDS * 1000:.0f} ms: {verdict}")
    return 0 if worst < GOAL_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
