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

With ``--replay DATABASE`` it is instead the ceiling of an **idempotent replay**: each POST is
answered as Tessera answers a create whose Idempotency-Key has a stored outcome, and nothing
more: the API key's digest and the stored outcome looked up with the statement Tessera's replay
sends (``tessera.auth.repository.find_by_hash_with_outcome``), the request's fingerprint
compared with the stored one (``tessera.kit.jsonutil.fingerprint``: without it a reused key
would replay another request's answer), the stored status, headers and body written in one
write, marked ``idempotent-replay: true``.

    python bench/ceiling.py --replay PATH --port PORT

With ``--asgi`` as well, the same replay is an ASGI app under uvicorn, run with the options
``tessera serve`` runs it with (one write per response, uvloop): what any ASGI app on this
server pays before its own first line, and so the most Tessera's replay could reach on it.

    python bench/ceiling.py --replay PATH --asgi --port PORT

Any GET is answered ``200 {}`` (the harness's readiness probe).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import pickle
import sqlite3
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httptools
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import floor
from tessera.db import open_sqlite
from tessera.kit.jsonutil import fingerprint, loads
from tessera.sqlite_checkpoint import Checkpointer

# tessera.auth.repository.find_by_hash_with_outcome, with SQLite's numbered parameters.
FIND_WITH_OUTCOME = (
    "SELECT k.id, k.organization_id, k.key_hash, k.scopes, k.revoked_at,"
    " i.fingerprint, i.status_code, i.headers, i.body"
    " FROM api_keys k LEFT JOIN idempotency_keys i"
    " ON i.api_key_id = k.id AND i.key = ?2 AND i.created_at > ?3"
    " WHERE k.key_hash = ?1"
)
TTL_MICROS = 24 * 3600 * 1_000_000  # tessera.idempotency.store's
STATUS = {200: "200 OK", 201: "201 Created", 401: "401 Unauthorized", 422: "422 Unprocessable"}


def http_response(
    status: str, body: bytes, headers: str = "content-type: application/json"
) -> bytes:
    """A response with the headers uvicorn and Tessera send (date and request ID fixed)."""
    head = (
        f"HTTP/1.1 {status}\r\n"
        "date: Tue, 01 Dec 2026 00:00:00 GMT\r\n"
        "server: uvicorn\r\n"
        f"content-length: {len(body)}\r\n"
        f"{headers}\r\n"
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


class _ReplayConnection(_Connection):
    """A connection that also collects the path, headers and body (httptools calls these only
    on a protocol that has them: the create ceiling's does not pay for them)."""

    def __init__(self, replay: Callable[[bytes, dict[bytes, bytes], bytes], bytes], ok: bytes):
        super().__init__(lambda: None, b"", ok)
        self._replay = replay
        self._url = b""
        self._headers: dict[bytes, bytes] = {}
        self._body = b""

    def on_message_begin(self) -> None:
        self._url, self._headers, self._body = b"", {}, b""

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.lower()] = value

    def on_body(self, body: bytes) -> None:
        self._body += body

    def on_message_complete(self) -> None:
        if self._parser.get_method() == b"POST":
            self._transport.write(self._replay(self._url, self._headers, self._body))
        else:
            self._transport.write(self._ok)


def replayer(raw: sqlite3.Connection) -> Callable[[bytes, dict[bytes, bytes], bytes], bytes]:
    """What the bare replay answers a POST: its stored outcome, or a 401/422 like Tessera's."""
    unauthorized = http_response("401 Unauthorized", b'{"error":"unauthorized"}')
    reused = http_response("422 Unprocessable", b'{"error":"idempotency_key_reused"}')

    def replay(url: bytes, headers: dict[bytes, bytes], body: bytes) -> bytes:
        digest = hashlib.sha256(headers.get(b"x-api-key", b"")).hexdigest()
        key = headers.get(b"idempotency-key", b"").decode("latin-1")
        since = time.time_ns() // 1000 - TTL_MICROS
        row = raw.execute(FIND_WITH_OUTCOME, (digest, key, since)).fetchone()
        if row is None or row["revoked_at"] is not None or row["fingerprint"] is None:
            return unauthorized
        path = url.split(b"?", 1)[0].decode()
        if fingerprint("POST", path, loads(body) if body.strip() else None) != row["fingerprint"]:
            return reused
        stored: dict[str, str] = loads(row["headers"])
        lines = "\r\n".join(f"{k.lower()}: {v}" for k, v in stored.items())
        return http_response(
            STATUS[row["status_code"]], bytes(row["body"]), lines + "\r\nidempotent-replay: true"
        )

    return replay


def serve_replays(path: str, port: int) -> None:
    raw = open_sqlite(path)
    replay = replayer(raw)
    ok = http_response("200 OK", b"{}")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: _ReplayConnection(replay, ok), "127.0.0.1", port, backlog=2048
        )
        async with server:
            await server.serve_forever()

    try:
        uvloop.run(main())
    finally:
        raw.close()


def serve_replays_asgi(path: str, port: int) -> None:
    import uvicorn

    from tessera.serve.worker import server_options

    raw = open_sqlite(path)
    replay = replayer(raw)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] != "POST":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"{}"})
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        answer = replay(scope["path"].encode(), dict(scope["headers"]), body)
        head, content = answer.split(b"\r\n\r\n", 1)
        status_line, *lines = head.split(b"\r\n")
        headers = [tuple(line.split(b": ", 1)) for line in lines]
        headers = [h for h in headers if h[0] not in (b"date", b"server", b"content-length")]
        await send(
            {
                "type": "http.response.start",
                "status": int(status_line.split()[1]),
                "headers": headers,
            }
        )
        await send({"type": "http.response.body", "body": content})

    options = {**server_options(), "factory": False}
    try:
        uvicorn.run(app, host="127.0.0.1", port=port, **options)
    finally:
        raw.close()


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
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--steps", type=Path, help="the create ceiling: what it replays")
    what.add_argument("--replay", metavar="DATABASE", help="the replay ceiling: its SQLite file")
    parser.add_argument("--asgi", action="store_true", help="the replay as an app under uvicorn")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    if args.replay:
        (serve_replays_asgi if args.asgi else serve_replays)(args.replay, args.port)
        return 0
    loaded: dict[str, Any] = pickle.loads(args.steps.read_bytes())
    serve(loaded["path"], loaded["steps"], loaded["response"], args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
