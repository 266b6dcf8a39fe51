"""``tessera serve --workers N``: one supervisor process and N worker processes sharing a port.

The supervisor binds the listening socket once and hands it to each worker, which it starts as
``python -m tessera.serve.worker`` (a fresh interpreter: no state forked from the supervisor).
It serves nothing itself. Its jobs:

- keep N workers: one that dies is started again (after a pause if it died at once, so a worker
  that cannot start does not spin; after :data:`FAILED_STARTS` such deaths in a row the
  supervisor gives up and exits non-zero);
- on ``SIGTERM`` or ``SIGINT``: close its copy of the socket, pass ``SIGTERM`` on, and wait for
  the workers to drain (each stops accepting, finishes its requests in flight and its outbox
  deliveries, then exits); whatever still runs after :data:`GRACE_SECONDS` gets ``SIGKILL``;
- give the workers a fresh directory for Prometheus's multiprocess files, remove the files of a
  worker that died, and the directory at exit.

If the supervisor itself dies, however it dies, its workers exit on their own
(:mod:`tessera.serve.orphan`): none keeps the port or its database connections.

Nothing here knows which HTTP server the workers run; :mod:`tessera.serve.worker` does.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("tessera.serve")

GRACE_SECONDS = 30.0
BIND_WAIT_SECONDS = 5.0
FAILED_STARTS = 5  # deaths within QUICK_DEATH seconds of starting, in a row
QUICK_DEATH = 10.0
TICK = 0.1


def bind(host: str, port: int, wait: float = BIND_WAIT_SECONDS) -> socket.socket:
    """The listening socket, inheritable by the workers. A port still held is tried again for
    ``wait`` seconds: the workers of a server just killed release it a moment after."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    deadline = time.monotonic() + wait
    while True:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            if exc.errno != errno.EADDRINUSE or time.monotonic() > deadline:
                raise
            time.sleep(0.1)
            continue
        sock.listen(2048)
        sock.set_inheritable(True)
        return sock


@dataclass
class _Worker:
    proc: subprocess.Popen[bytes]
    started: float = field(default_factory=time.monotonic)


class Supervisor:
    def __init__(self, host: str, port: int, workers: int, *, metrics: bool) -> None:
        self.host = host
        self.port = port
        self.count = workers
        self.metrics_dir: Path | None = None
        if metrics:
            self.metrics_dir = Path(tempfile.mkdtemp(prefix="tessera-metrics-"))
        self.workers: list[_Worker] = []
        self.sock: socket.socket | None = None
        self.stopping = False
        self.failed_starts = 0

    def _command(self, fd: int) -> list[str]:
        return [
            sys.executable,
            "-m",
            "tessera.serve.worker",
            "--fd",
            str(fd),
            "--parent-pid",
            str(os.getpid()),
        ]

    def _spawn(self) -> _Worker:
        assert self.sock is not None
        env = dict(os.environ)
        if self.metrics_dir is not None:
            env["PROMETHEUS_MULTIPROC_DIR"] = str(self.metrics_dir)
        proc = subprocess.Popen(
            self._command(self.sock.fileno()), pass_fds=(self.sock.fileno(),), env=env
        )
        return _Worker(proc)

    def _on_signal(self, signum: int, _frame: object) -> None:
        if not self.stopping:
            log.info("received %s: draining the workers", signal.Signals(signum).name)
        self.stopping = True

    def run(self) -> int:
        """Run until told to stop (0) or until workers cannot start (1)."""
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
            signal.signal(signum, self._on_signal)
        self.sock = bind(self.host, self.port)
        try:
            self.workers = [self._spawn() for _ in range(self.count)]
            code = self._keep_workers()
            self._drain()
            return code
        finally:
            if self.sock is not None:
                self.sock.close()
            if self.metrics_dir is not None:
                shutil.rmtree(self.metrics_dir, ignore_errors=True)

    def _keep_workers(self) -> int:
        while not self.stopping:
            for index, worker in enumerate(self.workers):
                code = worker.proc.poll()
                if code is None or self.stopping:
                    continue
                self._forget(worker.proc.pid)
                lived = time.monotonic() - worker.started
                self.failed_starts = self.failed_starts + 1 if lived < QUICK_DEATH else 0
                if self.failed_starts >= FAILED_STARTS:
                    log.error("workers keep exiting at start (last code %s): giving up", code)
                    self.stopping = True
                    return 1
                log.warning("worker %s exited with %s: starting another", worker.proc.pid, code)
                if self.failed_starts:
                    time.sleep(min(0.5 * 2**self.failed_starts, 5.0))
                self.workers[index] = self._spawn()
            time.sleep(TICK)
        return 0

    def _drain(self) -> None:
        # Our copy of the socket closes first: once the workers close theirs, the kernel accepts
        # no more connections on the port, instead of queueing them where nobody reads.
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        for worker in self.workers:
            if worker.proc.poll() is None:
                worker.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + GRACE_SECONDS
        while time.monotonic() < deadline and any(w.proc.poll() is None for w in self.workers):
            time.sleep(TICK)
        for worker in self.workers:
            if worker.proc.poll() is None:
                log.error("worker %s still runs after %ss: killed", worker.proc.pid, GRACE_SECONDS)
                worker.proc.kill()
            worker.proc.wait()
            self._forget(worker.proc.pid)

    def _forget(self, pid: int) -> None:
        """A dead worker's live gauges (pool use) must not count any more."""
        if self.metrics_dir is None:
            return
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid, str(self.metrics_dir))  # type: ignore[no-untyped-call]
