"""Each response leaves in one write: head and body written in one event-loop turn are joined
(tessera.http_protocol), over a real loopback TCP connection."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from tessera.http_protocol import HttpToolsOneWrite, _TurnBufferedTransport


class _CountingWrites:
    """The real transport, with its ``write`` calls recorded."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport, self.writes = transport, []  # type: list[bytes]

    def write(self, data: bytes) -> None:
        self.writes.append(data)
        self.transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


async def _connected() -> tuple[_CountingWrites, _TurnBufferedTransport, socket.socket]:
    loop = asyncio.get_running_loop()
    listener = socket.create_server(("127.0.0.1", 0))
    peer_future = loop.run_in_executor(None, listener.accept)
    transport, _ = await loop.create_connection(asyncio.Protocol, *listener.getsockname()[:2])
    peer, _ = await peer_future
    listener.close()
    counting = _CountingWrites(transport)  # type: ignore[arg-type]
    return counting, _TurnBufferedTransport(counting, loop), peer  # type: ignore[arg-type]


def _read_all(peer: socket.socket) -> bytes:
    peer.settimeout(5)
    chunks = []
    while chunk := peer.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_writes_of_one_turn_leave_in_one_write_and_close_sends_them_first() -> None:
    async def scenario() -> tuple[list[bytes], bytes]:
        counting, buffered, peer = await _connected()
        buffered.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        buffered.write(b"{}")
        assert counting.writes == []  # held until the end of this turn
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        buffered.writelines([b"la", b"ter"])  # a later turn: a write of its own, in order
        buffered.close()  # sends what is held, then closes
        received = await asyncio.get_running_loop().run_in_executor(None, _read_all, peer)
        peer.close()
        return counting.writes, received

    writes, received = asyncio.run(scenario())
    assert writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}", b"later"]
    assert received == b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}later"


def test_abort_drops_what_is_held() -> None:
    async def scenario() -> list[bytes]:
        counting, buffered, peer = await _connected()
        buffered.write(b"partial")
        assert buffered.get_write_buffer_size() == len(b"partial")
        buffered.abort()
        await asyncio.sleep(0)
        peer.close()
        return counting.writes

    assert asyncio.run(scenario()) == []


def test_uvicorn_protocol_answers_a_request_in_one_write() -> None:
    """uvicorn's own protocol, fed a real request: Starlette's head and body leave together."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route
    from uvicorn.server import ServerState

    async def hello(request: Any) -> JSONResponse:
        return JSONResponse({"hello": "world"})

    app = Starlette(routes=[Route("/", hello)])

    async def scenario() -> tuple[list[bytes], bytes]:
        config = uvicorn.Config(app, http=HttpToolsOneWrite, log_level="warning", lifespan="off")
        config.load()
        protocol = HttpToolsOneWrite(config=config, server_state=ServerState(), app_state={})
        counting, _, peer = await _connected()
        protocol.connection_made(counting)  # type: ignore[arg-type]
        protocol.data_received(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        for _ in range(100):
            if counting.is_closing():
                break
            await asyncio.sleep(0.01)
        received = await asyncio.get_running_loop().run_in_executor(None, _read_all, peer)
        peer.close()
        return counting.writes, received

    writes, received = asyncio.run(scenario())
    assert len(writes) == 1, writes
    assert received == writes[0]
    assert received.startswith(b"HTTP/1.1 200 OK\r\n")
    assert received.endswith(b'\r\n\r\n{"hello":"world"}')


def test_tessera_serve_runs_uvicorn_with_the_one_write_protocol() -> None:
    from tessera.cli import server_options

    assert server_options("127.0.0.1", 8000, 2)["http"] is HttpToolsOneWrite


def test_write_eof_sends_what_is_held_first() -> None:
    async def scenario() -> tuple[list[bytes], bytes]:
        counting, buffered, peer = await _connected()
        buffered.write(b"last words")
        buffered.write_eof()
        received = await asyncio.get_running_loop().run_in_executor(None, _read_all, peer)
        peer.close()
        buffered.close()
        return counting.writes, received

    assert asyncio.run(scenario()) == ([b"last words"], b"last words")
