"""Per-client rate limit of the public forms: the API's limiter (GCRA, shared through Redis when
``TESSERA_REDIS_URL`` is set), keyed by the client's address in a bucket of its own, with the
API's per-minute number. Off when ``TESSERA_RATE_LIMIT_PER_MINUTE=0``."""

from __future__ import annotations

from fastapi import Request

from tessera.config import Settings
from tessera.ratelimit.limiter import Decision, LocalStore, RedisStore, Store


def _store(settings: Settings) -> Store:
    local = LocalStore()
    return RedisStore(settings.redis_url, local) if settings.redis_url else local


async def check(request: Request) -> Decision | None:
    """The decision for this client's form post; None when rate limiting is off."""
    settings: Settings = request.app.state.settings
    if settings.rate_limit_per_minute <= 0:
        return None
    state = request.app.state
    store: Store | None = getattr(state, "public_rate_store", None)
    if store is None:
        store = state.public_rate_store = _store(settings)
    client = request.client.host if request.client else "unknown"
    return await store.hit(f"public:ip:{client}", settings.rate_limit_per_minute)
