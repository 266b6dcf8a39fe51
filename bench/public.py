"""The public event page's speed goals (issue 19), on SQLite, as a user runs Tessera.

One `tessera serve` on a fresh migrated SQLite file (access log and rate limits off, as in
bench/run.py), wrk with 32 connections, a warm-up and a measured run per scenario:

1. ``api-create``: Create Attendee through the API (unique emails and Idempotency-Keys): the
   yardstick of the same run;
2. ``public-register``: the public form's POST (form-encoded, the form cookie and a CSRF token
   from one page view, a unique email each): goal ≥ 40 % of ``api-create``, p99 ≤ 250 ms,
   0 errors;
3. ``event-page``: GET /e/{eventId}: goal ≥ 1,000 req/s.

Afterwards every class's and the event's seat counter must equal its seat-holding tickets
(0 oversold). Usage: ``.venv/bin/python bench/public.py [--duration S] [--warmup S]``.
"""

from __future__ import annotations

import argparse
import re
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import databases, processes, wrk
from bench.databases import counters_match
from bench.goals import EVENT_PAGE, PUBLIC_REGISTER
from bench.harness import Setup
from bench.processes import Servers, running
from bench.report import Result, log, log_goal, log_served
from bench.served import Served, measure_load

CONNECTIONS = 32


def register_script(event_id: str, class_id: str, cookie: str, token: str, nonce: str) -> str:
    return (
        wrk.LUA_THREADS
        + f"""
request = function()
  counter = counter + 1
  local id = "{nonce}-" .. tid .. "-" .. counter
  local body = "csrf_token={token}&ticket_class_id={class_id}&quantity=1&first_name=Bench" ..
    "&last_name=Mark&email=p" .. id .. "%40example.com&website="
  return wrk.format("POST", "/e/{event_id}/register",
    {{["Content-Type"]="application/x-www-form-urlencoded", ["Cookie"]="{cookie}"}}, body)
end
"""
        + wrk.LUA_DONE
    )


def page_script(event_id: str) -> str:
    return (
        f"""
request = function()
  return wrk.format("GET", "/e/{event_id}")
end
"""
        + wrk.LUA_DONE
    )


def measure(
    name: str, servers: Servers, script: str, args: argparse.Namespace, workdir: Path
) -> dict[str, Any]:
    wrk.drive(servers, [script.replace("NONCE", "w")], args.warmup, CONNECTIONS, workdir)
    figures = wrk.drive(servers, [script], args.duration, CONNECTIONS, workdir)
    rate = figures["requests"] / (figures["duration_us"] / 1_000_000)
    figures["rate"] = rate
    errors = figures["non2xx"] + figures["socket_errors"]
    log(
        f"  {name:16} {rate:8,.0f} req/s  p50 {figures['p50'] / 1000:6.1f} ms"
        f"  p99 {figures['p99'] / 1000:6.1f} ms  errors {errors}"
    )
    return figures


def oversold(path: str) -> list[str]:
    db = sqlite3.connect(path)
    try:
        problems = []
        for class_id, sold, total, rows in db.execute(
            "SELECT tc.id, tc.quantity_sold, tc.quantity_total, (SELECT count(*) FROM tickets t"
            " WHERE t.ticket_class_id = tc.id AND t.status IN ('valid', 'checked_in'))"
            " FROM ticket_classes tc"
        ):
            if sold != rows or (total and rows > total):
                problems.append(f"class {class_id}: counter {sold}, rows {rows}, total {total}")
        for event_id, sold, capacity, rows in db.execute(
            "SELECT e.id, e.tickets_sold, e.capacity, (SELECT count(*) FROM tickets t"
            " WHERE t.event_id = e.id AND t.status IN ('valid', 'checked_in')) FROM events e"
        ):
            if sold != rows or (capacity and rows > capacity):
                problems.append(f"event {event_id}: counter {sold}, rows {rows}, cap {capacity}")
        return problems
    finally:
        db.close()


def registrable_event(base: str, key: str) -> tuple[str, str, str, str]:
    """A published event with a class of a million seats, made through the API, and what one
    page view gives a browser: (event ID, class ID, the form cookie, a CSRF token)."""
    headers = {"X-API-KEY": key}
    body = {
        "name": "Bench Festival",
        "start": {"utc": "2027-07-15T18:00", "timezone": "America/New_York"},
        "location": "Main Hall",
        "description": "A benchmark's event.",
    }
    made = httpx.post(f"{base}/api/v1/events", json=body, headers=headers)
    assert made.status_code == 201, made.text
    event_id = made.json()["data"]["id"]
    made = httpx.post(
        f"{base}/api/v1/events/{event_id}/ticket-classes",
        json={"name": "Rush", "quantity_total": 1_000_000},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    page = httpx.get(f"{base}/e/{event_id}")
    assert page.status_code == 200, page.text[:500]
    cookie = page.headers["set-cookie"].split(";", 1)[0]
    token = re.findall(r'name="csrf_token" value="([^"]+)"', page.text)[0]
    return event_id, made.json()["data"]["id"], cookie, token


def scenario(setup: Setup) -> list[Result]:
    """make bench's public scenarios on the database's usual servers: the event page, then the
    registration rush (every POST a new email, its confirmation queued and delivered by the
    serving process itself, as shipped), read as a share of this run's Create Attendee on the
    hot class (measured here if ``--only`` left it out). Seat counters are checked after."""
    yardstick = setup.result("create-hot")
    results = [] if yardstick else Served("create", "hot")(setup)
    create = yardstick or results[0]
    profile = setup.profile
    log(
        f"-- {setup.kind} event page, then public registration: {setup.processes} process(es), "
        f"{profile.connections} connections, {profile.duration}s each"
    )
    with running(setup.servers()) as servers:
        base = f"http://127.0.0.1:{servers.ports[0]}"
        event_id, class_id, cookie, token = registrable_event(base, setup.secret)
        nonce = uuid.uuid4().hex[:8]
        page = measure_load(setup, "event-page", servers, [page_script(event_id)], nonce)
        page.rss_mb = servers.rss_mb()
        scripts = [
            register_script(event_id, class_id, cookie, token, f"{nonce}{i}")
            for i in range(len(servers.ports))
        ]
        register = measure_load(setup, "public-register", servers, scripts, nonce)
        register.rss_mb = servers.rss_mb()
    page.goal, page.met = EVENT_PAGE.text, page.rps >= EVENT_PAGE.rate
    log("   event page:")
    log_served(page, EVENT_PAGE)
    log_goal(page)
    share = register.rps / create.rps if create.rps else 0.0
    register.verified = counters_match(setup.url)
    errors = register.non_2xx + register.socket_errors
    register.goal = PUBLIC_REGISTER.text
    register.met = share >= 0.4 and register.p99_ms <= 250 and errors == 0 and register.verified
    register.detail = (
        f"{share:.0%} of create-hot's {create.rps:,.0f} req/s; 0 oversold: "
        f"{'yes' if register.verified else 'NO'}; confirmations delivered in the serving process"
    )
    log("   public registration (form POSTs, unique emails):")
    log_served(register, replace(PUBLIC_REGISTER, rate=int(0.4 * create.rps)))
    log_goal(register)
    return [*results, page, register]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument(
        "--worker",
        choices=("in-process", "separate", "after"),
        default="in-process",
        help="deliver the confirmation emails inside the server (as shipped on SQLite), from a"
        " `tessera worker` process beside it, or after the load (the rush's own cost)",
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="tessera-bench-public-"))
    url = databases.fresh_database("sqlite", workdir)
    env = databases.server_environment(url, workdir)
    _, key = databases.migrated_with_key(env)
    worker = None
    if args.worker != "in-process":
        env["TESSERA_WORKER_IN_PROCESS"] = "false"
    if args.worker == "separate":
        worker = subprocess.Popen(
            [str(processes.TESSERA), "worker"],
            env=env,
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    servers = Servers(env, workdir, 1, False)
    try:
        servers.wait_ready()
        base = f"http://127.0.0.1:{servers.ports[0]}"
        headers = {"X-API-KEY": key["key"]}
        body = {
            "name": "Bench Festival",
            "start": {"utc": "2027-07-15T18:00", "timezone": "America/New_York"},
            "location": "Main Hall",
            "description": "A benchmark's event.",
        }
        events = [httpx.post(f"{base}/api/v1/events", json=body, headers=headers).json()["data"]]
        events.append(
            httpx.post(f"{base}/api/v1/events", json=body, headers=headers).json()["data"]
        )
        classes = []
        for event in events:
            made = httpx.post(
                f"{base}/api/v1/events/{event['id']}/ticket-classes",
                json={"name": "Rush", "quantity_total": 1_000_000},
                headers=headers,
            )
            classes.append(made.json()["data"]["id"])
        page = httpx.get(f"{base}/e/{events[1]['id']}")
        cookie = page.headers["set-cookie"].split(";", 1)[0]
        token = re.findall(r'name="csrf_token" value="([^"]+)"', page.text)[0]
        nonce = uuid.uuid4().hex[:8]
        log(f"== public pages on SQLite (1 process, 32 connections, worker {args.worker})")
        # The page first: the rush leaves its confirmation emails to deliver for a while.
        get = measure("event-page", servers, page_script(events[1]["id"]), args, workdir)
        api = measure(
            "api-create",
            servers,
            wrk.create_script(key["key"], [(events[0]["id"], classes[0])], nonce + "NONCE"),
            args,
            workdir,
        )
        public = measure(
            "public-register",
            servers,
            register_script(events[1]["id"], classes[1], cookie, token, nonce + "NONCE"),
            args,
            workdir,
        )
    finally:
        servers.stop()
        if worker is not None:
            worker.terminate()
            worker.wait(10)
    share = public["rate"] / api["rate"] if api["rate"] else 0.0
    problems = oversold(url.removeprefix("sqlite:///"))
    errors = public["non2xx"] + public["socket_errors"] + get["non2xx"] + get["socket_errors"]
    log(f"  register / create: {share:.0%} (goal ≥ 40 %)")
    log(f"  register p99: {public['p99'] / 1000:.1f} ms (goal ≤ 250 ms)")
    log(f"  event page: {get['rate']:,.0f} req/s (goal ≥ 1,000)")
    log(f"  oversold or unbalanced: {len(problems)}; errors: {errors}")
    for problem in problems[:10]:
        log(f"    {problem}")
    met = (
        share >= 0.4
        and public["p99"] <= 250_000
        and get["rate"] >= 1000
        and not problems
        and errors == 0
    )
    log("  goals met" if met else "  GOALS NOT MET")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
