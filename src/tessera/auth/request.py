"""Authenticates every ``/api/v1`` request before anything else looks at it.

The edge (tessera.edge) calls :func:`authenticate` ahead of routing and body parsing, so a caller
without a valid key learns nothing else: no validation messages, no 404-versus-405 differences —
only the documented 401. The principal is left in the request state, where the scope
dependencies pick it up.

A ``POST`` with an ``Idempotency-Key`` also fetches that key's stored outcome in the same
statement (``idempotency_prefetch`` in the request state), so a retry costs one lookup.
"""

from __future__ import annotations

from starlette.types import Scope

from tessera.auth.service import MISSING_KEY, authenticate_with_outcome
from tessera.auth.service import authenticate as principal_of
from tessera.db import Database
from tessera.errors import Unauthorized
from tessera.idempotency.store import TTL_MICROS
from tessera.kit.clock import Clock

API_PREFIX = "/api/v1"


async def authenticate(scope: Scope, db: Database, clock: Clock) -> None:
    """Leave the caller's principal in the scope's state, or raise the 401."""
    presented = b""
    idempotency_keys: list[bytes] = []
    for name, value in scope["headers"]:
        if name == b"x-api-key":
            presented = value
        elif name == b"idempotency-key":
            idempotency_keys.append(value)
    if not presented:
        raise Unauthorized(MISSING_KEY, code="missing_api_key")
    state = scope.setdefault("state", {})
    async with db.reader() as conn:
        if scope["method"] == "POST" and len(idempotency_keys) == 1:
            key = idempotency_keys[0].decode("latin-1")
            principal, stored = await authenticate_with_outcome(
                conn, presented.decode("latin-1"), key, clock() - TTL_MICROS
            )
            state["idempotency_prefetch"] = (key, stored)
        else:
            principal = await principal_of(conn, presented.decode("latin-1"))
    state["principal"] = principal
