"""GCRA (the generic cell rate algorithm): a token bucket kept as one number per caller.

Each caller has a "theoretical arrival time" (TAT). A request is allowed when
``TAT - now <= window - interval``; allowing it moves TAT forward by one interval. It allows
bursts up to the full limit and refills smoothly, with no reset cliff at minute boundaries.

With ``TESSERA_REDIS_URL`` the TAT lives in Redis, updated by one atomic Lua script, so every
server process shares one limit. When Redis cannot be reached, Tessera keeps limiting with the
process-local store and logs a warning (at most every 30 s), then tries Redis again after 5 s:
a Redis outage neither takes the API down nor removes the limit altogether.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger("tessera.ratelimit")

WINDOW = 60.0


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_after: float  # seconds until the bucket is full again
    retry_after: float  # seconds until the next request would be allowed (0 if allowed)

    def headers(self) -> list[tuple[bytes, bytes]]:
        headers = [
            (b"ratelimit-limit", str(self.limit).encode()),
            (b"ratelimit-remaining", str(self.remaining).encode()),
            (b"ratelimit-reset", str(math.ceil(self.reset_after)).encode()),
        ]
        if not self.allowed:
            headers.append((b"retry-after", str(max(1, math.ceil(self.retry_after))).encode()))
        return headers


def _decide(tat: float, now: float, limit: int) -> tuple[bool, float, Decision]:
    """Pure GCRA step: (allowed, new TAT, decision)."""
    interval = WINDOW / limit
    tat = max(tat, now)
    allow_at = tat - (WINDOW - interval)
    if now < allow_at:
        remaining = 0
        return False, tat, Decision(False, limit, remaining, tat - now, allow_at - now)
    new_tat = tat + interval
    remaining = max(0, int((WINDOW - (new_tat - now)) / interval))
    return True, new_tat, Decision(True, limit, remaining, new_tat - now, 0.0)


class Store(Protocol):
    async def hit(self, bucket: str, limit: int) -> Decision: ...


class LocalStore:
    """One process's buckets. Idle buckets are forgotten, so memory stays bounded."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._tats: dict[str, float] = {}
        self._clock = clock
        self._next_prune = 0.0

    async def hit(self, bucket: str, limit: int) -> Decision:
        now = self._clock()
        _, tat, decision = _decide(self._tats.get(bucket, now), now, limit)
        self._tats[bucket] = tat
        if now >= self._next_prune:
            self._next_prune = now + WINDOW
            self._tats = {key: value for key, value in self._tats.items() if value > now}
        return decision


# Atomic GCRA in Redis: KEYS[1] bucket; ARGV limit, window (s). Uses the Redis server's clock so
# processes on machines with skewed clocks share one notion of time.
_LUA = """
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local interval = window / limit
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allow_at = tat - (window - interval)
if now < allow_at then
  return {0, tostring(tat - now), tostring(allow_at - now)}
end
local new_tat = tat + interval
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil((new_tat - now) * 1000) + 1000)
return {1, tostring(new_tat - now), '0'}
"""


class RedisStore:
    def __init__(self, url: str, fallback: LocalStore) -> None:
        import redis.asyncio as redis

        self._redis = redis.from_url(
            url, socket_connect_timeout=0.25, socket_timeout=0.25, health_check_interval=30
        )
        self._script = self._redis.register_script(_LUA)
        self._fallback = fallback
        self._down_until = 0.0
        self._last_warning = 0.0

    async def hit(self, bucket: str, limit: int) -> Decision:
        now = time.monotonic()
        if now < self._down_until:
            return await self._fallback.hit(bucket, limit)
        try:
            allowed, reset_after, retry_after = await self._script(
                keys=[f"tessera:rl:{bucket}"], args=[limit, WINDOW]
            )
        except Exception as exc:  # any Redis failure: keep serving, limit locally
            self._down_until = now + 5
            if now - self._last_warning > 30:
                self._last_warning = now
                log.warning("Redis unreachable for rate limits (%s); limiting per process", exc)
            return await self._fallback.hit(bucket, limit)
        reset = float(reset_after)
        interval = WINDOW / limit
        remaining = max(0, int((WINDOW - reset) / interval)) if allowed else 0
        return Decision(bool(allowed), limit, remaining, reset, float(retry_after))

    async def close(self) -> None:
        await self._redis.aclose()
