"""Who a request counts against: its API key (by SHA-256 digest, no database lookup) or, without
a key, the client's IP address."""

from __future__ import annotations

import hashlib

from starlette.types import Scope

from tessera.ratelimit.limiter import Decision, Store


class RateLimiter:
    def __init__(self, store: Store, limit: int) -> None:
        self.store = store
        self.limit = limit

    async def decide(self, scope: Scope) -> Decision:
        return await self.store.hit(self._bucket(scope), self.limit)

    @staticmethod
    def _bucket(scope: Scope) -> str:
        for name, value in scope["headers"]:
            if name == b"x-api-key" and value:
                return "key:" + hashlib.sha256(value).hexdigest()
        client = scope.get("client")
        return "ip:" + (client[0] if client else "unknown")
