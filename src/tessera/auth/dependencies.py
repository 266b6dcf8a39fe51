"""FastAPI dependencies that check one scope per endpoint.

The caller was authenticated by the edge (:func:`tessera.auth.request.authenticate`)
before routing; these read the principal it left in the request state.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request

from tessera.auth import scopes
from tessera.auth.service import MISSING_KEY, Principal
from tessera.errors import Forbidden, Unauthorized


def current_principal(request: Request) -> Principal:
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:  # only if a route outside /api/v1 asked for a scope
        raise Unauthorized(MISSING_KEY, code="missing_api_key")
    return principal


def authorize(request: Request, resource: str, level: str) -> Principal:
    """The request's principal if its key holds ``resource:level`` (write implies read)."""
    principal = current_principal(request)
    if not scopes.allows(principal.scopes, resource, level):
        raise Forbidden(extra={"required": f"{resource}:{level}"})
    return principal


def require(resource: str, level: str) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency that admits keys holding ``resource:level`` (write implies read)."""

    async def dependency(request: Request) -> Principal:
        return authorize(request, resource, level)

    dependency.__name__ = f"require_{resource}_{level}"
    dependency.__scope__ = (resource, level)  # type: ignore[attr-defined]  # for the fast path
    return dependency
