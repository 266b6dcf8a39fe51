"""Dashboard speed on SQLite with an event of 100,000 attendees (issue 17's goals):

- the attendees page (50 rows) at p95 ≤ 100 ms, without and with a search;
- a door scan (POST and the rendered result) at p95 ≤ 150 ms with 4 scanners at once.

A real `tessera serve` process; times are measured by the client on loopback (an upper bound
on the server's time). Run: `.venv/bin/python bench/dashboard.py [--attendees N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.populate import populate  # noqa: E402
from tessera import migrate  # noqa: E402
from tessera.account import passwords, sessions  # noqa: E402
from tessera.account import service as accounts  # noqa: E402
from tessera.auth import scopes  # noqa: E402
from tessera.auth import service as auth  # noqa: E402
from tessera.db import Connection, create_database  # noqa: E402

TESSERA = Path(sys.executable).parent / "tessera"


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[94] if len(samples) >= 20 else max(samples)


async def prepare(url: str, attendees: int) -> tuple[str, str]:
    db = create_database(url)
    await db.connect()
    try:
        now = time.time_ns() // 1000
        org = await db.run(lambda conn: auth.create_organization(conn, "Bench", now))
        key = await db.run(
            lambda conn: auth.create_api_key(conn, org["id"], "bench", scopes.all_write(), now)
        )
        population = await populate(
            db,
            org["id"],
            key["id"],
            attendees=attendees,
            spread=0,
            stored_keys=0,
            progress=lambda _: None,
        )
        password_hash = passwords.hash_password("bench password 1")

        async def owner(conn: Connection) -> str:
            made = await accounts.add_member(
                conn, org["id"], "owner@bench.example", "owner", password_hash, now
            )
            return await sessions.start(conn, made["id"], org["id"], now)

        token = await db.run(owner)
        return token, population.big_event_id
    finally:
        await db.close()


def serve(url: str, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
    env.update(
        TESSERA_DATABASE_URL=url,
        TESSERA_ACCESS_LOG="false",
        TESSERA_MAIL_DIR=str(workdir / "mail"),
        TESSERA_RATE_LIMIT_PER_MINUTE="0",
    )
    proc = subprocess.Popen(
        [str(TESSERA), "serve", "--port", str(port)],
        env=env,
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("tessera serve did not start")


def timed_gets(client: httpx.Client, paths: list[str]) -> list[float]:
    samples = []
    for path in paths:
        started = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--attendees", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="tessera-dash-bench-"))
    url = f"sqlite:///{workdir / 'bench.db'}"
    migrate.upgrade(url)
    started = time.perf_counter()
    token, event_id = asyncio.run(prepare(url, args.attendees))
    print(f"populated {args.attendees:,} attendees in {time.perf_counter() - started:.0f} s")
    barcodes = [
        row[0]
        for row in sqlite3.connect(workdir / "bench.db").execute(
            "SELECT barcode FROM tickets WHERE event_id = ? LIMIT 2000", (event_id,)
        )
    ]
    proc, base = serve(url, workdir)
    try:
        cookies = {"tessera_session": token}
        with httpx.Client(base_url=base, cookies=cookies, timeout=10) as client:
            page = client.get("/dashboard")
            csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
            assert csrf, page.text[:500]
            attendees = f"/dashboard/events/{event_id}/attendees"
            n = args.requests
            timed_gets(client, [attendees] * 20)  # warm up
            rows = [
                ("attendees page 1", [attendees] * n),
                (
                    "attendees, deep page",
                    [f"{attendees}?page={1 + i * 97 % 1999}" for i in range(n)],
                ),
                (
                    "attendees, search one name",
                    [f"{attendees}?q=guest{i * 491 % args.attendees}" for i in range(n)],
                ),
                ("attendees, search, many hits", [f"{attendees}?q=population"] * n),
                ("attendees, newest first", [f"{attendees}?sort=-created"] * n),
            ]
            for name, paths in rows:
                samples = timed_gets(client, paths)
                print(
                    f"{name:32s} p50 {statistics.median(samples):6.1f} ms  "
                    f"p95 {p95(samples):6.1f} ms"
                )

        scans: list[float] = []
        lock = threading.Lock()

        def scanner(codes: list[str]) -> None:
            with httpx.Client(base_url=base, cookies=cookies, timeout=10) as client:
                for code in codes:
                    started = time.perf_counter()
                    response = client.post(
                        f"/dashboard/events/{event_id}/check-in/scan",
                        data={"barcode": code},
                        headers={"X-CSRF-Token": csrf.group(1)},
                    )
                    elapsed = (time.perf_counter() - started) * 1000
                    assert response.status_code == 200 and "Checked in" in response.text
                    with lock:
                        scans.append(elapsed)

        per = min(100, len(barcodes) // 4)
        threads = [
            threading.Thread(target=scanner, args=(barcodes[i * per : (i + 1) * per],))
            for i in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print(
            f"{'door scan, 4 scanners':32s} p50 {statistics.median(scans):6.1f} ms  "
            f"p95 {p95(scans):6.1f} ms  ({len(scans)} scans)"
        )
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
