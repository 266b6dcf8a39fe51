"""Authenticates every ``/api/v1`` request before anything else looks at it.

Running ahead of routing and body parsing means a caller without a valid key learns nothing
else: no validation messages, no 404-versus-405 differences — only the documented 401. The
principal is left in the request state, where the scope dependencies pick it up.

A ``POST`` with an ``Idempotency-Key`` also fetches that key's stored outcome in the same
statement (``idempotency_prefetch`` in the request state), so a retry costs one lookup.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from tessera.auth.service import MISSING_KEY, authenticate, authenticate_with_outcome
from tessera.db import Database
from tessera.errors import AppError, Unauthorized
from tessera.idempotency.store import TTL_MICROS
from tessera.kit.clock import Clock
from tessera.kit.jsonutil import dumps

API_PREFIX = "/api/v1"


class AuthenticationMiddleware:
    def __init__(self, app: ASGIApp, *, db: Database, clock: Clock) -> None:
        self.app = app
        self.db = db
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        presented = b""
        idempotency_keys: list[bytes] = []
        for name, value in scope["headers"]:
            if name == b"x-api-key":
                presented = value
            elif name == b"idempotency-key":
                idempotency_keys.append(value)
        prefetch = None
        try:
            if not presented:
                raise Unauthorized(MISSING_KEY, code="missing_api_key")
            async with self.db.reader() as conn:
                if scope["method"] == "POST" and len(idempotency_keys) == 1:
                    key = idempotency_keys[0].decode("latin-1")
                    principal, stored = await authenticate_with_outcome(
                        conn, presented.decode("latin-1"), key, self.clock() - TTL_MICROS
                    )
                    prefetch = (key, stored)
                else:
                    principal = await authenticate(conn, presented.decode("latin-1"))
        except AppError as exc:
            body = dumps(exc.body())
            await send(
                {
                    "type": "http.response.start",
                    "status": exc.status,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        *((k.lower().encode(), v.encode()) for k, v in exc.headers.items()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        state = scope.setdefault("state", {})
        state["principal"] = principal
        if prefetch is not None:
            state["idempotency_prefetch"] = prefetch
        await self.app(scope, receive, send)
