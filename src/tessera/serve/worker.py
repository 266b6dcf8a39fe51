"""One server process: the HTTP server (uvicorn today) running the app, on a socket it is given
(a worker of the supervisor) or binds itself (``tessera serve`` with one process).

This module and :func:`server_options` are all that knows the HTTP server is uvicorn.
"""

from __future__ import annotations

import argparse
import socket
from typing import Any

from tessera.serve.orphan import exit_with_parent

APP = "tessera.app:create_app_from_env"
# SIGTERM: stop accepting at once, give requests in flight this long, then the app's shutdown
# (the outbox worker finishes its deliveries: tessera.outbox.worker.STOP_GRACE_SECONDS). Both
# together stay under the supervisor's 30 s.
DRAIN_SECONDS = 20


def server_options() -> dict[str, Any]:
    """How every Tessera server process runs uvicorn."""
    from tessera.http_protocol import HttpToolsOneWrite

    return {
        "factory": True,
        "access_log": False,
        "log_level": "warning",
        "proxy_headers": False,
        "http": HttpToolsOneWrite,  # one write per response, not two
        "timeout_graceful_shutdown": DRAIN_SECONDS,
    }


def run(*, host: str | None = None, port: int | None = None, fd: int | None = None) -> None:
    """Serve until SIGTERM/SIGINT, then drain: on ``fd`` if given, else on ``host:port``."""
    import uvicorn

    if fd is None:
        assert host is not None and port is not None
        uvicorn.run(APP, host=host, port=port, **server_options())
        return
    sock = socket.socket(fileno=fd)
    config = uvicorn.Config(APP, **server_options())
    uvicorn.Server(config).run(sockets=[sock])


def main() -> None:
    parser = argparse.ArgumentParser(description="A worker of `tessera serve --workers N`.")
    parser.add_argument("--fd", type=int, required=True, help="the listening socket")
    parser.add_argument("--parent-pid", type=int, required=True, help="the supervisor")
    args = parser.parse_args()
    exit_with_parent(args.parent_pid)
    run(fd=args.fd)


if __name__ == "__main__":  # pragma: no cover
    main()
