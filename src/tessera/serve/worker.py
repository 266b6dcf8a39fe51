"""One server process: the HTTP server (uvicorn today) running the app on a listening socket,
inherited from the supervisor (``python -m tessera.serve.worker``) or bound by ``tessera serve``
with one process.

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


def run(sock: socket.socket) -> None:
    """Serve on the listening ``sock`` until SIGTERM/SIGINT, then drain."""
    import uvicorn

    config = uvicorn.Config(APP, **server_options())
    uvicorn.Server(config).run(sockets=[sock])


def main() -> None:
    parser = argparse.ArgumentParser(description="A worker of `tessera serve --workers N`.")
    parser.add_argument("--fd", type=int, required=True, help="the listening socket")
    parser.add_argument("--parent-pid", type=int, required=True, help="the supervisor")
    args = parser.parse_args()
    exit_with_parent(args.parent_pid)
    run(socket.socket(fileno=args.fd))


if __name__ == "__main__":  # pragma: no cover
    main()
