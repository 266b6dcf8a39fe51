"""FastAPI dependencies that authenticate the caller and check one scope per endpoint."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request

from tessera.auth import scopes
from tessera.auth.service import MISSING_KEY, Principal, authenticate
from tessera.errors import Forbidden, Unauthorized


async def current_principal(request: Request) -> Principal:
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    presented = request.headers.get("x-api-key")
    if not presented:
        raise Unauthorized(MISSING_KEY, code="missing_api_key")
    async with request.app.state.db.reader() as conn:
        principal = await authenticate(conn, presented)
    request.state.principal = principal
    return principal


def require(resource: str, level: str) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency that admits keys holding ``resource:level`` (write implies read)."""
    needed = f"{resource}:{level}"

    async def dependency(request: Request) -> Principal:
        principal = await current_principal(request)
        if not scopes.allows(principal.scopes, resource, level):
            raise Forbidden(extra={"required": needed})
        return principal

    dependency.__name__ = f"require_{resource}_{level}"
    return dependency
