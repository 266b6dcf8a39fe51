"""A real HTTP webhook receiver on a loopback port, in a thread.

It records every request (headers, body, arrival time) and answers as told: a status code (or a
queue of them), a hang, or not at all (``down()`` closes the port; ``up()`` opens it again).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() on arrival

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def type(self) -> str:
        value: str = self.json["type"]
        return value

    @property
    def data(self) -> dict[str, Any]:
        value: dict[str, Any] = self.json["data"]
        return value

    def verify(self, secret: str) -> Any:
        """Checks the signature with the standardwebhooks library; raises if it does not match."""
        return Webhook(secret).verify(self.body, self.headers)


class _Server(ThreadingHTTPServer):
    # The default backlog of 5 resets connections when several Tessera processes deliver at once.
    request_queue_size = 256


class Receiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.statuses: deque[int] = deque()  # answered first, one per request
        self.status = 200  # then this
        self.hang_seconds = 0.0
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0
        self.up()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def up(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.received.append(
                        Received(
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                            time.monotonic(),
                        )
                    )
                    status = receiver.statuses.popleft() if receiver.statuses else receiver.status
                    hang = receiver.hang_seconds
                if hang:
                    receiver._release.wait(hang)
                try:
                    self.send_response(status)
                    self.send_header("content-length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:  # the sender gave up (timeout) and closed the connection
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = _Server(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def down(self) -> None:
        """Close the port: deliveries now fail with a refused connection."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def close(self) -> None:
        self._release.set()
        self.down()

    def of_type(self, event_type: str) -> list[Received]:
        return [r for r in self.received if r.type == event_type]
