"""uvicorn's httptools protocol, sending each response in one write instead of two.

uvicorn writes a response's status line and headers when the app sends ``http.response.start``
and its body on ``http.response.body``. On uvloop every ``write`` goes straight to the socket, so
each response costs two system calls and two TCP segments, which the client reads separately.
Here the transport the protocol writes to holds what is written during one turn of the event loop
and hands it to the socket at the end of that turn: Starlette sends head and body in the same
turn, so they leave together. A streamed body still goes out as it is produced (each turn's
chunks in one write); ``close`` sends what is held first.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class _TurnBufferedTransport:
    """A transport that joins the writes of one event-loop turn into one."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._held:
            self._loop.call_soon(self._flush)
        self._held.append(data)

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def _flush(self) -> None:
        if self._held:
            data = self._held[0] if len(self._held) == 1 else b"".join(self._held)
            self._held.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._held.clear()
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return sum(map(len, self._held)) + self._transport.get_write_buffer_size()

    def __getattr__(self, name: str) -> Any:  # everything else is the socket's transport
        return getattr(self._transport, name)


class HttpToolsOneWrite(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        buffered = _TurnBufferedTransport(transport, asyncio.get_running_loop())
        super().connection_made(buffered)  # type: ignore[arg-type]
