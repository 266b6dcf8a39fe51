"""``tessera serve`` without the one-write protocol (``tessera.http_protocol``): uvicorn's own
httptools protocol, everything else as shipped (the options of ``tessera.serve.worker``, its
socket binding, its supervisor over several processes). ``bench/run.py --server uvicorn-plain``
runs it, so the protocol's worth is measured rather than remembered.

    python bench/plain_uvicorn.py --workers N --port PORT
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path

import uvicorn

from tessera.serve import supervisor, worker
from tessera.serve.orphan import exit_with_parent

HERE = Path(__file__).resolve()


def run(sock: socket.socket) -> None:
    options = {**worker.server_options(), "http": "httptools"}
    uvicorn.Server(uvicorn.Config(worker.APP, **options)).run(sockets=[sock])


class _Supervisor(supervisor.Supervisor):
    """Tessera's supervisor, starting this file's workers instead of tessera.serve.worker's."""

    def _command(self, fd: int) -> list[str]:
        return [sys.executable, str(HERE), "--fd", str(fd), "--parent-pid", str(os.getpid())]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--port", type=int)
    parser.add_argument("--fd", type=int, help="a worker: the supervisor's listening socket")
    parser.add_argument("--parent-pid", type=int)
    args = parser.parse_args()
    if args.fd is not None:
        exit_with_parent(args.parent_pid)
        run(socket.socket(fileno=args.fd))
    elif args.workers > 1:
        return _Supervisor("127.0.0.1", args.port, args.workers, metrics=False).run()
    else:
        run(supervisor.bind("127.0.0.1", args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
