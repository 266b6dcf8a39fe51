"""Attendee export and import against a real `tessera serve` on SQLite (SPEC §10 goals).

    .venv/bin/python bench/data_io.py            # 100,000-row export, 10,000-row import
    .venv/bin/python bench/data_io.py --rows 20000 --import-rows 2000   # quicker

Goals (issue 18): export ≥ 50,000 rows/s with server RSS growth ≤ 20 MB over 100,000 attendees;
import of 10,000 rows ≤ 10 s with no duplicate. The server is started exactly as a user would
(one process); RSS is sampled from /proc every 5 ms while the export streams.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.goals import EXPORT, IMPORT
from bench.harness import Setup
from bench.processes import cpu_seconds, running
from bench.report import Result, log, log_goal
from tessera import migrate
from tessera.auth import scopes
from tessera.auth import service as auth
from tessera.db import Connection, create_database
from tessera.kit import ids

TESSERA = Path(sys.executable).parent / "tessera"


async def insert_attendees(
    conn: Connection,
    organization_id: str,
    event_id: str,
    class_id: str,
    count: int,
    start: int,
    answers: dict[str, Any] | None = None,
) -> None:
    """``count`` valid tickets with a contact each and one payment, a microsecond apart, with
    the seat counters kept true (straight through the data layer: the API would take minutes)."""
    contacts, tickets = [], []
    payment_id = ids.payment_id()
    text = json.dumps(answers) if answers else None
    for n in range(count):
        contact_id = ids.contact_id()
        contacts.append(
            (contact_id, organization_id, f"guest{n}@example.com", f"Guest{n}", "Doe", start + n)
        )
        tickets.append(
            (
                ids.ticket_id(),
                organization_id,
                event_id,
                class_id,
                contact_id,
                payment_id,
                ids.barcode(),
                start + n,
                text,
            )
        )
    await conn.executemany(
        "INSERT INTO contacts (id, organization_id, email, first_name, last_name, phone,"
        " erased_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, '+1 555 0100', NULL,"
        " $6, $6)",
        contacts,
    )
    await conn.execute(
        "INSERT INTO payments (id, organization_id, event_id, ticket_class_id, contact_id, status,"
        " method, provider, currency, amount, quantity, created_at, updated_at) VALUES"
        " ($1, $2, $3, $4, $5, 'succeeded', 'cash', 'manual', 'usd', '0.00', $6, $7, $7)",
        payment_id,
        organization_id,
        event_id,
        class_id,
        contacts[0][0],
        count,
        start,
    )
    await conn.executemany(
        "INSERT INTO tickets (id, organization_id, event_id, ticket_class_id, contact_id,"
        " payment_id, status, barcode, payment_method, checked_in_at, created_at, updated_at,"
        " answers) VALUES ($1, $2, $3, $4, $5, $6, 'valid', $7, 'cash', NULL, $8, $8, $9)",
        tickets,
    )
    await conn.execute(
        "UPDATE ticket_classes SET quantity_sold = quantity_sold + $2 WHERE id = $1",
        class_id,
        count,
    )
    await conn.execute(
        "UPDATE events SET tickets_sold = tickets_sold + $2 WHERE id = $1", event_id, count
    )


async def bench_event(
    conn: Connection, organization_id: str, name: str, now: int
) -> dict[str, str]:
    """An event ``Bench {name}`` with its default class and a text question "Company"."""
    from tessera.event import service as events
    from tessera.event.schemas import EventCreate
    from tessera.question import service as questions
    from tessera.question.schemas import QuestionCreate

    event = await events.create_event(
        conn,
        organization_id,
        EventCreate.model_validate(
            {
                "name": f"Bench {name}",
                "start": {"utc": "2027-07-15T18:00", "timezone": "UTC"},
                "location": "Hall",
            }
        ),
        now,
    )
    row = await conn.fetchrow("SELECT id FROM ticket_classes WHERE event_id = $1", event["id"])
    assert row is not None  # an event is made with its default class
    question = await questions.create_question(
        conn,
        organization_id,
        event["id"],
        QuestionCreate.model_validate({"label": "Company", "type": "text"}),
        now,
    )
    return {
        f"{name}_event": event["id"],
        f"{name}_class": row["id"],
        f"{name}_question": question["id"],
    }


async def setup(url: str, attendees: int) -> dict[str, str]:
    """An organization, a key, an event with a question and ``attendees`` tickets, and a
    second, empty event for the import."""
    db = create_database(url)
    await db.connect()
    try:

        async def make(conn: Connection) -> dict[str, str]:
            now = time.time_ns() // 1000
            org = await auth.create_organization(conn, "Bench", now)
            key = await auth.create_api_key(conn, org["id"], "bench", scopes.all_write(), now)
            made = {"org": org["id"], "key": key["key"]}
            for name in ("export", "import"):
                made.update(await bench_event(conn, org["id"], name, now))
            return made

        made = await db.run(make)

        async def fill(conn: Connection) -> None:
            await insert_attendees(
                conn,
                made["org"],
                made["export_event"],
                made["export_class"],
                attendees,
                time.time_ns() // 1000 - attendees,
                {made["export_question"]: "Acme Corporation"},
            )

        await db.run(fill)
        if db.dialect == "postgresql":
            # What autovacuum does soon after a bulk load; without statistics PostgreSQL plans
            # a freshly filled table as if it were empty (bench/populate.py does the same).
            async with db.reader() as conn:
                await conn.execute("ANALYZE")
        return made
    finally:
        await db.close()


class RssSampler(threading.Thread):
    """The highest RSS of one process while it runs, sampled from /proc."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = rss_kb(pid)
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.005):
            self.peak = max(self.peak, rss_kb(self.pid))

    def stop(self) -> int:
        self._done.set()
        self.join()
        return self.peak


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def start_server(url: str, workdir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
    env.update(
        TESSERA_DATABASE_URL=url,
        TESSERA_RATE_LIMIT_PER_MINUTE="0",
        TESSERA_ACCESS_LOG="false",
        TESSERA_MAIL_DIR=str(workdir / "mail"),
    )
    proc = subprocess.Popen(
        [str(TESSERA), "serve", "--port", str(port)],
        env=env,
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=(workdir / "server.log").open("wb"),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"the server did not start; see {workdir / 'server.log'}")


def measure_export(base: str, key: str, event_id: str, pid: int) -> dict[str, float]:
    """Streams the export once to warm up, then measures a second one."""
    path = f"{base}/api/v1/events/{event_id}/attendees/export"
    headers = {"X-API-KEY": key}
    with httpx.stream("GET", path, headers=headers, timeout=300) as response:
        for _ in response.iter_bytes():
            pass
    before = rss_kb(pid)
    sampler = RssSampler(pid)
    sampler.start()
    started = time.perf_counter()
    size = lines = 0
    with httpx.stream("GET", path, headers=headers, timeout=300) as response:
        assert response.status_code == 200, response.read()
        for chunk in response.iter_bytes():
            size += len(chunk)
            lines += chunk.count(b"\r\n")
    seconds = time.perf_counter() - started
    peak = sampler.stop()
    rows = lines - 1
    return {
        "rows": rows,
        "seconds": round(seconds, 3),
        "rows_per_s": round(rows / seconds),
        "mb": round(size / 1e6, 1),
        "rss_before_mb": round(before / 1024, 1),
        "rss_growth_mb": round((peak - before) / 1024, 1),
    }


def import_file(rows: int, class_id: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Email", "First Name", "Last Name", "ticket_class_id", "Company"])
    for n in range(rows):
        writer.writerow([f"invitee{n}@example.com", f"First{n}", "Last", class_id, "Beta Ltd"])
    return out.getvalue().encode()


def measure_import(
    base: str, key: str, made: dict[str, str], rows: int, url: str
) -> dict[str, Any]:
    body = import_file(rows, made["import_class"])
    path = f"{base}/api/v1/events/{made['import_event']}/attendees/import"
    headers = {"X-API-KEY": key, "Content-Type": "text/csv", "Idempotency-Key": "bench-import"}
    started = time.perf_counter()
    response = httpx.post(path, content=body, headers=headers, timeout=600)
    seconds = time.perf_counter() - started
    assert response.status_code == 200, response.text[:500]
    result = response.json()
    replay = httpx.post(path, content=body, headers=headers, timeout=600)
    assert replay.headers.get("Idempotent-Replay") == "true"
    tickets, emails = asyncio.run(_count(url, made["import_event"]))
    return {
        "rows": rows,
        "created": result["created"],
        "failed": result["failed"],
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        "duplicates": tickets - emails,
    }


async def _count(url: str, event_id: str) -> tuple[int, int]:
    """Tickets of the event and distinct emails among them (equal: no duplicate)."""
    db = create_database(url)
    await db.connect()
    try:
        async with db.reader() as conn:
            row = await conn.fetchrow(
                "SELECT count(*), count(DISTINCT c.email) FROM tickets t"
                " JOIN contacts c ON c.id = t.contact_id WHERE t.event_id = $1",
                event_id,
            )
        assert row is not None
        return int(row[0]), int(row[1])
    finally:
        await db.close()


async def _fresh_postgres(admin_url: str, name: str, drop: bool = False) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        if drop:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


# Rows imported per make bench profile (the goal is stated for 10,000).
IMPORT_ROWS = {"full": 10_000, "quick": 10_000, "smoke": 50}


def scenario(setup: Setup) -> list[Result]:
    """make bench's export and import on the database's usual servers: the export streams the
    populated event (``setup.profile.attendees``: 100,000 outside the smoke run; once to warm
    up, then measured, the first server's RSS sampled every 5 ms), then a CSV is imported
    into a new event with a question, and its replay checked. Figures per row, as req/s."""
    profile = setup.profile
    rows = IMPORT_ROWS.get(profile.name, 10_000)

    async def import_event() -> dict[str, str]:
        db = create_database(setup.url, pool_size=1)
        await db.connect()
        try:
            now = time.time_ns() // 1000
            return await db.run(
                lambda conn: bench_event(conn, setup.organization_id, "import", now)
            )
        finally:
            await db.close()

    made = asyncio.run(import_event())
    log(
        f"-- {setup.kind} export of {profile.attendees:,} attendees, import of {rows:,} rows: "
        f"{setup.processes} process(es), one client"
    )
    with running(setup.servers()) as servers:
        base, pid = f"http://127.0.0.1:{servers.ports[0]}", servers.worker_pids()[0]
        before = cpu_seconds(servers.pids())
        exported = measure_export(base, setup.secret, setup.population.big_event_id, pid)
        export_cpu = cpu_seconds(servers.pids()) - before  # the warm-up's export too
        before = cpu_seconds(servers.pids())
        imported = measure_import(base, setup.secret, made, rows, setup.url)
        import_cpu = cpu_seconds(servers.pids()) - before  # and the replay's
        rss = servers.rss_mb()
    export = Result("export", setup.kind, setup.processes, requests=int(exported["rows"]))
    export.rps, export.rss_mb = exported["rows_per_s"], rss
    export.p50_ms = export.p95_ms = export.p99_ms = exported["seconds"] * 1000
    export.cpu_us_per_request = export_cpu * 1e6 / max(1, 2 * exported["rows"])
    export.goal = EXPORT.text
    export.met = exported["rows_per_s"] >= EXPORT.rate and exported["rss_growth_mb"] <= 20
    export.detail = (
        f"{exported['rows']:,} rows in {exported['seconds']:.2f} s, {exported['mb']} MB; "
        f"server RSS {exported['rss_before_mb']} MB + {exported['rss_growth_mb']} MB"
    )
    log(
        f"   export {export.rps:10,.0f} rows/s  {export.detail}  "
        f"CPU {export.cpu_us_per_request:,.1f} µs/row"
    )
    log_goal(export)
    result = Result("import", setup.kind, setup.processes, requests=rows, rss_mb=rss)
    result.rps = imported["rows_per_s"]
    result.p50_ms = result.p95_ms = result.p99_ms = imported["seconds"] * 1000
    result.cpu_us_per_request = import_cpu * 1e6 / rows
    result.goal = IMPORT.text
    result.met = (
        imported["seconds"] <= 10 and imported["duplicates"] == 0 and imported["created"] == rows
    )
    result.detail = (
        f"{rows:,} rows in {imported['seconds']:.2f} s; created {imported['created']:,}, "
        f"failed {imported['failed']}, duplicates {imported['duplicates']}; replay answered "
        "from the stored outcome"
    )
    log(
        f"   import {result.rps:10,.0f} rows/s  {result.detail}  "
        f"CPU {result.cpu_us_per_request:,.0f} µs/row"
    )
    log_goal(result)
    return [export, result]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000, help="attendees to export")
    parser.add_argument("--import-rows", type=int, default=10_000, help="rows to import")
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument(
        "--postgres",
        metavar="ADMIN_URL",
        help="run on a fresh PostgreSQL database made through this server"
        " (e.g. postgresql://postgres@127.0.0.1:5432/postgres) instead of SQLite",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tessera-data-io-") as tmp:
        workdir = Path(tmp)
        url = f"sqlite:///{workdir / 'bench.db'}"
        pg_name = f"tessera_bench_io_{os.getpid()}"
        if args.postgres:
            asyncio.run(_fresh_postgres(args.postgres, pg_name))
            url = f"{args.postgres.rsplit('/', 1)[0]}/{pg_name}"
        migrate.upgrade(url)
        made = asyncio.run(setup(url, args.rows))
        with socket.socket() as probe:  # a free port
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = start_server(url, workdir, port)
        try:
            base = f"http://127.0.0.1:{port}"
            exported = measure_export(base, made["key"], made["export_event"], server.pid)
            print(
                f"export  {exported['rows']:>7,} rows in {exported['seconds']:.2f} s:"
                f" {exported['rows_per_s']:,} rows/s (goal ≥ 50,000), {exported['mb']} MB,"
                f" server RSS {exported['rss_before_mb']} MB + {exported['rss_growth_mb']} MB"
                " (goal ≤ 20 MB)"
            )
            if not args.skip_import:
                imported = measure_import(base, made["key"], made, args.import_rows, url)
                print(
                    f"import  {imported['rows']:>7,} rows in {imported['seconds']:.2f} s:"
                    f" {imported['rows_per_s']:,} rows/s (goal ≤ 10 s), created"
                    f" {imported['created']:,}, failed {imported['failed']},"
                    f" duplicates {imported['duplicates']}"
                )
        finally:
            server.terminate()
            server.wait(timeout=30)
            if args.postgres:
                asyncio.run(_fresh_postgres(args.postgres, pg_name, drop=True))


if __name__ == "__main__":
    main()
