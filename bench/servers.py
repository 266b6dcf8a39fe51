"""The HTTP servers a run can put Tessera under (``--server``), each with the same app (the
``tessera.app:create_app_from_env`` factory), the same environment and as many processes:

- ``uvicorn``: ``tessera serve`` as shipped (uvicorn, httptools, uvloop, its one-write
  protocol ``tessera.http_protocol``, Tessera's supervisor over several processes);
- ``uvicorn-plain``: the same without the one-write protocol (``bench/plain_uvicorn.py``), to
  tell what ``http_protocol.py`` is worth;
- ``granian``: Granian's own CLI and its own worker processes: the ASGI interface (with
  lifespan), uvloop, access log off.

bench/README.md, "Which HTTP server", has what they measured.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bench.processes import TESSERA

HERE = Path(__file__).resolve().parent
SERVERS = ("uvicorn", "uvicorn-plain", "granian")
APP = "tessera.app:create_app_from_env"


def command(server: str, workers: int) -> list[str]:
    """The command that serves Tessera with ``workers`` processes; ``--port N`` follows."""
    if server == "uvicorn":
        return [str(TESSERA), "serve", "--workers", str(workers)]
    if server == "uvicorn-plain":
        return [sys.executable, str(HERE / "plain_uvicorn.py"), "--workers", str(workers)]
    if server == "granian":
        return [
            str(Path(sys.executable).parent / "granian"),
            "--interface",
            "asgi",  # with lifespan: the app opens its database on startup
            "--factory",
            "--workers",
            str(workers),
            "--loop",
            "uvloop",
            "--no-access-log",
            "--log-level",
            "warning",
            "--host",
            "127.0.0.1",
            "--backlog",
            "2048",  # as tessera serve's listen()
            APP,
        ]
    raise ValueError(f"unknown server {server!r} (the servers: {', '.join(SERVERS)})")
