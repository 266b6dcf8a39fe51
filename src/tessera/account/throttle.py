"""The sign-in throttle: failed sign-ins counted per email and per client, always on.

Counted in the database, so every server process sees the same numbers. Within a window of
15 minutes from the first failure: from ``slow_after`` failures each attempt is answered only
after a delay; from ``refuse_after`` the attempt is refused with 429 before any password is
checked (so a locked account costs no hashing either). A successful sign-in clears its email's
count, not the client's (one client guessing many accounts stays throttled).
"""

from __future__ import annotations

from dataclasses import dataclass

from tessera.account import repository
from tessera.db import Connection

WINDOW = 15 * 60 * 1_000_000


@dataclass(frozen=True, slots=True)
class Limits:
    slow_after: int
    refuse_after: int


PER_EMAIL = Limits(slow_after=3, refuse_after=6)
# Higher: many people may share one address (an office, a venue's network).
PER_CLIENT = Limits(slow_after=10, refuse_after=30)
DELAY_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Verdict:
    refuse: bool
    delay: float
    retry_after: int  # seconds, when refused


def keys(email: str, client: str) -> tuple[str, str]:
    return f"email:{email}", f"client:{client}"


async def check(conn: Connection, email: str, client: str, now: int) -> Verdict:
    email_key, client_key = keys(email, client)
    counts = await repository.failures(conn, [email_key, client_key], now - WINDOW)
    by_email = counts.get(email_key, 0)
    by_client = counts.get(client_key, 0)
    if by_email >= PER_EMAIL.refuse_after or by_client >= PER_CLIENT.refuse_after:
        return Verdict(True, 0.0, WINDOW // 1_000_000)
    slow = by_email >= PER_EMAIL.slow_after or by_client >= PER_CLIENT.slow_after
    return Verdict(False, DELAY_SECONDS if slow else 0.0, 0)


async def failed(conn: Connection, email: str, client: str, now: int) -> None:
    await repository.forget_old_failures(conn, now - WINDOW)  # counts of finished windows
    for key in keys(email, client):
        await repository.add_failure(conn, key, now, now - WINDOW)


async def succeeded(conn: Connection, email: str) -> None:
    await repository.clear_failures(conn, keys(email, "")[0])
