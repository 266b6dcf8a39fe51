"""The processes a run measures: `tessera serve` (or any server command) started as a user would,
their process trees, and their CPU time and memory read from /proc; py-spy beside them on
request.

CPU is read as user + system time of every process in a server's tree, before and after the
measured load, so a figure per request is (after - before) / requests.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench.report import log

TESSERA = Path(sys.executable).parent / "tessera"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (uvicorn's workers, their helpers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / CLOCK_TICKS


def postgres_pids() -> list[int]:
    """Every PostgreSQL process on the machine (backends, WAL writer, checkpointer...)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
    return pids


def children_cpu_seconds() -> float:
    """CPU of this process's exited children: around a load run, that is wrk's."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class Servers:
    """`tessera serve` processes started exactly as a user would (or, given ``command``, that
    command with ``--port``: the ceiling server).

    ``separate``: ``processes`` servers of one process each, on their own ports (two servers
    sharing PostgreSQL); otherwise one server with ``--workers processes``.
    """

    def __init__(
        self,
        env: dict[str, str],
        workdir: Path,
        processes: int,
        separate: bool,
        command: list[str] | None = None,
    ) -> None:
        self.env, self.workdir, self.processes = env, workdir, processes
        count = processes if separate else 1
        workers = 1 if separate else processes
        serve = command or [str(TESSERA), "serve", "--workers", str(workers)]
        self.ports = [free_port() for _ in range(count)]
        self.procs = [
            subprocess.Popen(
                [*serve, "--port", str(port)],
                env=env,
                cwd=workdir,
                stdout=subprocess.DEVNULL,
                stderr=(workdir / f"server-{port}.log").open("wb"),
                start_new_session=True,
            )
            for port in self.ports
        ]

    def logs(self) -> list[Path]:
        """Each server's standard error (its log), in the order of ``ports``."""
        return [self.workdir / f"server-{port}.log" for port in self.ports]

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        for port in self.ports:
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    log_file = self.workdir / f"server-{port}.log"
                    tail = log_file.read_text(errors="replace")[-2000:]
                    raise SystemExit(
                        f"server on port {port} did not become ready; its log ({log_file}) "
                        f"ends with:\n{tail}"
                    )
                time.sleep(0.1)
        time.sleep(0.5 if len(self.ports) == 1 else 0.2)  # let --workers children finish booting

    def pids(self) -> list[int]:
        return [pid for proc in self.procs for pid in descendants(proc.pid)]

    def worker_pids(self) -> list[int]:
        """The processes that serve requests (uvicorn's workers, or the server itself)."""
        serving = []
        for proc in self.procs:
            tree = descendants(proc.pid)
            kids = [pid for pid in tree if pid != proc.pid and rss_mb(pid) > 30]
            serving.extend(kids or [proc.pid])
        return serving

    def rss_mb(self) -> list[float]:
        """Each serving process's resident memory, in MB to one decimal."""
        return [round(rss_mb(pid), 1) for pid in self.worker_pids()]

    def stop(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


@contextmanager
def running(servers: Servers) -> Iterator[Servers]:
    """The servers, ready to serve; stopped afterwards whatever happens."""
    try:
        servers.wait_ready()
        yield servers
    finally:
        servers.stop()


@contextmanager
def sampled(servers: Servers, directory: Path | None, seconds: int, name: str) -> Iterator[None]:
    """With --profile (``directory``), py-spy samples every serving process for ``seconds``
    and writes collapsed stacks (one file per process; flamegraph.pl or speedscope read them)."""
    if directory is None:
        yield
        return
    spies = [
        subprocess.Popen(
            [
                str(Path(sys.executable).parent / "py-spy"),
                "record",
                "--rate",
                os.environ.get("BENCH_PY_SPY_RATE", "100"),
                "--format",
                "raw",
                "--duration",
                str(seconds),
                "--pid",
                str(pid),
                "--output",
                str(directory / f"{name}-{pid}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid in servers.worker_pids()
    ]
    try:
        yield
    finally:
        for spy in spies:
            spy.wait(30)
    log(f"   py-spy samples written to {directory}/{name}-*.txt")
