"""Real `tessera serve` processes, an HTTP load driver and a direct view of the database.

The concurrency tests must not trust the app's own view of itself: they start the console script
as separate processes (as an operator would), drive them over TCP, and read the database with
plain sqlite3 / asyncpg to check the books.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import sysconfig
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest


def _console_script() -> Path:
    """The installed `tessera` command of the interpreter running the tests."""
    candidates = [
        Path(sys.executable).parent / "tessera",
        Path(sysconfig.get_path("scripts")) / "tessera",
    ]
    found = next((c for c in candidates if c.is_file()), None)
    if found is None:
        on_path = shutil.which("tessera")
        found = Path(on_path) if on_path else candidates[0]
    return found


TESSERA = _console_script()
READY_TIMEOUT = 45.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_env(database_url: str, workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
    env.update(
        TESSERA_DATABASE_URL=database_url,
        TESSERA_RATE_LIMIT_PER_MINUTE="0",
        TESSERA_ACCESS_LOG="false",
        TESSERA_MAIL_DIR=str(workdir / "mail"),
        PYTHONUNBUFFERED="1",
    )
    return env


@dataclass
class Server:
    """One `tessera serve` process group (the uvicorn supervisor and its workers)."""

    name: str
    port: int
    workers: int
    env: dict[str, str]
    workdir: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}-{self.starts}.log"

    def start(self) -> None:
        assert self.proc is None, "already running"
        self.starts += 1
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [
                    str(TESSERA),
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--workers",
                    str(self.workers),
                ],
                env=self.env,
                cwd=self.workdir,  # no stray .env file from the repository is read
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: we can kill it whole
            )

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError as exc:
            return f"<no log: {exc}>"

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                pytest.fail(
                    f"`tessera serve` ({self.name}, port {self.port}) exited with {code} before "
                    f"GET /readyz answered 200. Its output:\n{self.log_tail()}"
                )
            try:
                response = httpx.get(f"{self.url}/readyz", timeout=2)
                if response.status_code == 200:
                    return
                last = f"{response.status_code} {response.text[:300]}"
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            time.sleep(0.1)
        pytest.fail(
            f"`tessera serve` ({self.name}, port {self.port}) was not ready within {timeout:.0f} s "
            f"(last /readyz: {last}). Its output:\n{self.log_tail()}"
        )

    def kill(self) -> None:
        """kill -9 the whole process group: no shutdown handler, no rollback, no goodbye."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._wait_group_gone(self.proc.pid)
        self.proc = None

    def stop(self) -> None:
        """Teardown: the test is over, nothing to drain; kill the group and reap it."""
        self.kill()

    @staticmethod
    def _wait_group_gone(pgid: int, timeout: float = 10) -> None:
        """Wait until every process of the group has exited (the workers are the supervisor's
        children; once dead they may linger as zombies until init reaps them, which is fine:
        a zombie holds no socket, no file lock and no database connection)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _live_members(pgid):
            time.sleep(0.02)


def _live_members(pgid: int) -> list[int]:
    """PIDs of the process group that are not zombies (Linux /proc; elsewhere: kill -0)."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():  # pragma: no cover - not Linux
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return []
        return [pgid]
    live = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        state, group = fields[0], int(fields[2])
        if group == pgid and state not in ("Z", "X"):
            live.append(int(entry.name))
    return live


@dataclass
class ApiKey:
    key: str
    id: str


@dataclass
class Cluster:
    """Tessera server processes sharing one database, plus an org and a key made by the CLI."""

    kind: str  # "sqlite" | "postgresql"
    database_url: str
    env: dict[str, str]
    workdir: Path
    servers: list[Server]
    org_id: str = ""
    keys: list[ApiKey] = field(default_factory=list)

    @property
    def urls(self) -> list[str]:
        return [server.url for server in self.servers]

    @property
    def key(self) -> str:
        return self.keys[0].key

    def cli(self, *args: str) -> dict[str, Any]:
        done = subprocess.run(
            [str(TESSERA), *args, "--json"],
            env=self.env,
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(
                f"`tessera {' '.join(args)} --json` failed ({done.returncode}):\n"
                f"{done.stdout}\n{done.stderr}"
            )
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    def new_key(self) -> ApiKey:
        created = self.cli("keys", "create", "--org", self.org_id, "--name", "t")
        key = ApiKey(created["key"], created["id"])
        self.keys.append(key)
        return key

    def start(self) -> None:
        for server in self.servers:  # start them together, then wait: half the waiting
            server.start()
        for server in self.servers:
            server.wait_ready()

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    @contextlib.asynccontextmanager
    async def inspect(self) -> AsyncIterator[Inspector]:
        if self.kind == "sqlite":
            raw = sqlite3.connect(
                self.database_url.removeprefix("sqlite:///"), timeout=30, isolation_level=None
            )
            raw.row_factory = sqlite3.Row
            try:
                yield Inspector(sqlite=raw)
            finally:
                raw.close()
        else:
            conn = await asyncpg.connect(self.database_url)
            try:
                yield Inspector(pg=conn)
            finally:
                await conn.close()


_PLACEHOLDER = re.compile(r"\$(\d+)")


class Inspector:
    """Read-only SQL with ``$n`` placeholders on either database; each call is one snapshot."""

    def __init__(
        self, *, sqlite: sqlite3.Connection | None = None, pg: asyncpg.Connection | None = None
    ) -> None:
        self._sqlite = sqlite
        self._pg = pg

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        if self._sqlite is not None:
            rows = self._sqlite.execute(_PLACEHOLDER.sub(r"?\1", sql), args).fetchall()
            return [dict(row) for row in rows]
        assert self._pg is not None
        return [dict(row) for row in await self._pg.fetch(sql, *args)]

    async def execute(self, sql: str, *args: Any) -> None:
        """For the tests that hold locks on purpose (BEGIN ... ROLLBACK)."""
        if self._sqlite is not None:
            self._sqlite.execute(_PLACEHOLDER.sub(r"?\1", sql), args)
            return
        assert self._pg is not None
        await self._pg.execute(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> dict[str, Any]:
        rows = await self.fetch(sql, *args)
        assert len(rows) == 1, f"expected one row from {sql!r}, got {len(rows)}"
        return rows[0]

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return next(iter((await self.fetchrow(sql, *args)).values()))

    # The books of one event ------------------------------------------------------------------
    async def event_books(self, event_id: str) -> dict[str, Any]:
        """Counters and seat-holding rows of an event and its classes, in ONE statement/snapshot."""
        rows = await self.fetch(
            "SELECT e.capacity, e.tickets_sold,"
            " (SELECT count(*) FROM tickets t WHERE t.event_id = e.id"
            "   AND t.status IN ('valid', 'checked_in')) AS event_rows,"
            " tc.id AS class_id, tc.quantity_total, tc.quantity_sold,"
            " (SELECT count(*) FROM tickets t WHERE t.ticket_class_id = tc.id"
            "   AND t.status IN ('valid', 'checked_in')) AS class_rows"
            " FROM events e JOIN ticket_classes tc ON tc.event_id = e.id WHERE e.id = $1",
            event_id,
        )
        assert rows, f"event {event_id} not found"
        first = rows[0]
        return {
            "capacity": first["capacity"],
            "tickets_sold": first["tickets_sold"],
            "event_rows": first["event_rows"],
            "classes": {
                row["class_id"]: {
                    "quantity_total": row["quantity_total"],
                    "quantity_sold": row["quantity_sold"],
                    "rows": row["class_rows"],
                }
                for row in rows
            },
        }


def book_problems(books: dict[str, Any]) -> list[str]:
    """Everything wrong with one snapshot of an event's books (empty: all is well)."""
    problems = []
    if books["tickets_sold"] != books["event_rows"]:
        problems.append(
            f"event tickets_sold {books['tickets_sold']} != {books['event_rows']} seat rows"
        )
    if books["capacity"] and books["event_rows"] > books["capacity"]:
        problems.append(
            f"event oversold: {books['event_rows']} seats > capacity {books['capacity']}"
        )
    class_sum = 0
    for class_id, tc in books["classes"].items():
        class_sum += tc["quantity_sold"]
        if tc["quantity_sold"] != tc["rows"]:
            problems.append(
                f"class {class_id} quantity_sold {tc['quantity_sold']} != {tc['rows']} seat rows"
            )
        if tc["quantity_total"] and tc["rows"] > tc["quantity_total"]:
            problems.append(f"class {class_id} oversold: {tc['rows']} > {tc['quantity_total']}")
    if class_sum != books["tickets_sold"]:
        problems.append(
            f"sum of class counters {class_sum} != event tickets_sold {books['tickets_sold']}"
        )
    return problems


class BookMonitor:
    """Polls an event's books while the load runs; every snapshot must balance.

    A snapshot is one statement, so on both databases it sees only committed transactions,
    whole: counters and rows must agree at every instant, not just at the end.
    """

    def __init__(self, cluster: Cluster, event_id: str, interval: float = 0.02) -> None:
        self.cluster = cluster
        self.event_id = event_id
        self.interval = interval
        self.snapshots = 0
        self.problems: list[str] = []
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> BookMonitor:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._task is not None
        await self._task

    async def _run(self) -> None:
        async with self.cluster.inspect() as db:
            while True:
                books = await db.event_books(self.event_id)
                self.snapshots += 1
                for problem in book_problems(books):
                    self.problems.append(f"snapshot {self.snapshots}: {problem}")
                if self._stop.is_set():
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.interval)


class Client:
    """httpx.AsyncClient over every server of the cluster; request ``i`` goes to server i % n.

    A dropped connection is a test failure that names the server and shows its log, unless
    ``disconnects_expected`` (the crash test, which kills servers on purpose, handles them).
    """

    def __init__(
        self, cluster: Cluster, key: str | None = None, *, disconnects_expected: bool = False
    ) -> None:
        self.cluster = cluster
        self.key = key or cluster.key
        self.disconnects_expected = disconnects_expected
        self.http = httpx.AsyncClient(
            # Reuse a connection only while it is surely still open: uvicorn closes idle
            # keep-alive connections after 5 s, and a request racing that close is lost.
            limits=httpx.Limits(
                max_connections=400, max_keepalive_connections=400, keepalive_expiry=2.0
            ),
            timeout=httpx.Timeout(60.0),
        )

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    def url(self, path: str, route: int = 0) -> str:
        urls = self.cluster.urls
        return urls[route % len(urls)] + path

    async def warm(self, connections: int) -> None:
        """Open ``connections`` keep-alive connections to every server before the race, so the
        racing requests start together instead of queueing on TCP handshakes."""
        await asyncio.gather(
            *(
                self.http.get(url + "/healthz")
                for url in self.cluster.urls
                for _ in range(connections)
            )
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        route: int = 0,
        json: Any = None,
        headers: dict[str, str] | None = None,
        key: str | None = None,
    ) -> httpx.Response:
        url = self.url(path, route)
        try:
            return await self.http.request(
                method, url, json=json, headers={"X-API-KEY": key or self.key, **(headers or {})}
            )
        except httpx.TransportError as exc:
            if self.disconnects_expected:
                raise
            server = self.cluster.servers[route % len(self.cluster.servers)]
            alive = server.proc is not None and server.proc.poll() is None
            raise AssertionError(
                f"{method} {url}: no answer ({exc!r}); server {server.name} "
                f"{'still runs' if alive else 'is DEAD'}. Its output:\n{server.log_tail()}"
            ) from exc

    # Builders over the real API --------------------------------------------------------------
    async def make_event(self, **fields: Any) -> dict[str, Any]:
        body = {
            "name": "Race Night",
            "start": {"utc": "2027-07-15T18:00", "timezone": "America/New_York"},
            "end": {"utc": "2027-07-15T23:00", "timezone": "America/New_York"},
            "location": "Main Hall",
            **fields,
        }
        response = await self.request("POST", "/api/v1/events", json=body)
        assert response.status_code == 201, response.text
        event: dict[str, Any] = response.json()["data"]
        return event

    async def make_class(self, event_id: str, name: str, **fields: Any) -> dict[str, Any]:
        response = await self.request(
            "POST", f"/api/v1/events/{event_id}/ticket-classes", json={"name": name, **fields}
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()["data"]
        return created

    async def create_attendees(
        self,
        event_id: str,
        class_id: str,
        email: str,
        *,
        route: int = 0,
        quantity: int = 1,
        status: str | None = None,
        idempotency_key: str | None = None,
        key: str | None = None,
    ) -> httpx.Response:
        body: dict[str, Any] = {
            "ticket_class_id": class_id,
            "contact": {"email": email, "first_name": "Race", "last_name": "Tester"},
            "quantity": quantity,
        }
        if status is not None:
            body["status"] = status
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return await self.request(
            "POST",
            f"/api/v1/events/{event_id}/attendees",
            route=route,
            json=body,
            headers=headers,
            key=key,
        )


def describe(responses: Sequence[httpx.Response]) -> str:
    """A compact histogram of statuses and error codes, for assertion messages."""
    counts: dict[str, int] = {}
    for response in responses:
        label = str(response.status_code)
        if response.status_code >= 400:
            try:
                label += f" {response.json().get('code')}"
            except ValueError:
                label += " <not JSON>"
        counts[label] = counts.get(label, 0) + 1
    return ", ".join(f"{label}: {n}" for label, n in sorted(counts.items()))


def server_errors(responses: Sequence[httpx.Response]) -> list[str]:
    return [
        f"{r.status_code} {r.request.method} {r.request.url}: {r.text[:300]}"
        for r in responses
        if r.status_code >= 500
    ]
