"""The ceiling of Create Attendee on SQLite: the fastest one Python process can serve it here.

A bare server on what uvicorn itself runs on (uvloop, httptools) answers each POST by replaying
the statements that a real create sent (recorded in-process, as for bench/floor.py, with fresh
IDs, email and key each time, the background checkpointer running) and writing the bytes of a
real create's response in one write. No routing, no middleware, no validation, no JSON, no
Tessera code: what is left of a request is what any Python server pays to parse it, run the
create's SQL in SQLite and answer. Driven by wrk exactly like ``tessera serve``, it says
what is possible at all on this machine; Tessera's create beside it, what Tessera's own code
costs.

    python bench/ceiling.py --steps FILE --port PORT    # FILE: written by bench/run.py

Any GET is answered ``200 {}`` (the harness's readiness probe).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import pickle
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httptools
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import floor
from tessera.db import open_sqlite
from tessera.sqlite_checkpoint import Checkpointer


def http_response(status: str, body: bytes) -> bytes:
    """A response with the headers uvicorn and Tessera send (date and request ID fixed)."""
    head = (
        f"HTTP/1.1 {status}\r\n"
        "date: Tue, 01 Dec 2026 00:00:00 GMT\r\n"
        "server: uvicorn\r\n"
        f"content-length: {len(body)}\r\n"
        "content-type: application/json\r\n"
        "x-request-id: 00000000000000000000000000000000\r\n"
        "x-content-type-options: nosniff\r\n\r\n"
    )
    return head.encode() + body


class _Connection(asyncio.Protocol):
    def __init__(self, create: Callable[[], None], created: bytes, ok: bytes) -> None:
        self._create, self._created, self._ok = create, created, ok
        self._parser = httptools.HttpRequestParser(self)
        self._transport: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # uvloop's TCPTransport (not an asyncio.Transport subclass)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            self._transport.close()

    def on_message_complete(self) -> None:
        if self._parser.get_method() == b"POST":
            self._create()
            self._transport.write(self._created)
        else:
            self._transport.write(self._ok)


def serve(path: str, steps: list[floor.Step], response: bytes, port: int) -> None:
    raw = open_sqlite(path)
    checkpointer = Checkpointer(path)
    checkpointer.start()
    run = uuid.uuid4().hex[:6]
    numbers = itertools.count()

    def create() -> None:
        floor.replay(raw, steps, f"~c{run}{next(numbers)}")

    created = http_response("201 Created", response)
    ok = http_response("200 OK", b"{}")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: _Connection(create, created, ok), "127.0.0.1", port, backlog=2048
        )
        async with server:
            await server.serve_forever()

    try:
        uvloop.run(main())
    finally:
        checkpointer.stop()
        raw.close()


def write_steps(file: Path, path: str, steps: list[floor.Step], response: bytes) -> None:
    """What the ceiling server replays: the database, the steps, the response body."""
    file.write_bytes(pickle.dumps({"path": path, "steps": steps, "response": response}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    loaded: dict[str, Any] = pickle.loads(args.steps.read_bytes())
    serve(loaded["path"], loaded["steps"], loaded["response"], args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
