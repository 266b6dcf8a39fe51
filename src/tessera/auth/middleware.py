"""Authenticates every ``/api/v1`` request before anything else looks at it.

Running ahead of routing and body parsing means a caller without a valid key learns nothing
else: no validation messages, no 404-versus-405 differences — only the documented 401. The
principal is left in the request state, where the scope dependencies pick it up.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from tessera.auth.service import MISSING_KEY, authenticate
from tessera.db import Database
from tessera.errors import AppError, Unauthorized
from tessera.kit.jsonutil import dumps

API_PREFIX = "/api/v1"


class AuthenticationMiddleware:
    def __init__(self, app: ASGIApp, *, db: Database) -> None:
        self.app = app
        self.db = db

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        presented = b""
        for name, value in scope["headers"]:
            if name == b"x-api-key":
                presented = value
                break
        try:
            if not presented:
                raise Unauthorized(MISSING_KEY, code="missing_api_key")
            async with self.db.reader() as conn:
                principal = await authenticate(conn, presented.decode("latin-1"))
        except AppError as exc:
            body = dumps(exc.body())
            await send({
                "type": "http.response.start",
                "status": exc.status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    *((k.lower().encode(), v.encode()) for k, v in exc.headers.items()),
                ],
            })
            await send({"type": "http.response.body", "body": body})
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)
