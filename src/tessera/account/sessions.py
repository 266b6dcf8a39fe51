"""Server-side dashboard sessions.

The cookie carries a random 256-bit token; the table keeps its SHA-256 (``id_hash``), so the
token is never stored. A session ends after 12 hours without a request, after 7 days in any
case, on sign-out, when its user's password changes, or when the user leaves the
organization. Signing in always starts a new session (a token planted before sign-in is
worthless: no session fixation). Each session has its own CSRF token.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from tessera.account import repository
from tessera.db import Connection

MICROS = 1_000_000
IDLE_TIMEOUT = 12 * 3600 * MICROS
ABSOLUTE_TIMEOUT = 7 * 24 * 3600 * MICROS
# last_seen_at is written at most once a minute per session: not a write per page view.
TOUCH_EVERY = 60 * MICROS


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is looking at a dashboard page: one user, in one organization, with one role."""

    session_hash: str
    user_id: str
    email: str
    name: str | None
    organization_id: str
    organization_name: str
    role: str
    csrf_token: str


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def start(conn: Connection, user_id: str, organization_id: str, now: int) -> str:
    """A new session; returns the token for the cookie. The user's dead sessions go."""
    await repository.forget_dead_sessions(conn, user_id, now, now - IDLE_TIMEOUT)
    token = secrets.token_urlsafe(32)
    await repository.insert_session(
        conn,
        digest(token),
        user_id,
        organization_id,
        secrets.token_urlsafe(32),
        now,
        now + ABSOLUTE_TIMEOUT,
    )
    return token


async def load(conn: Connection, token: str, now: int) -> tuple[Viewer, bool] | None:
    """The live session of ``token`` and whether its last-seen time is due a write."""
    if not token or len(token) > 128:
        return None
    row = await repository.live_session(conn, digest(token), now, now - IDLE_TIMEOUT)
    if row is None:
        return None
    viewer = Viewer(
        session_hash=row["id_hash"],
        user_id=row["user_id"],
        email=row["email"],
        name=row["name"],
        organization_id=row["organization_id"],
        organization_name=row["organization_name"],
        role=row["role"],
        csrf_token=row["csrf_token"],
    )
    return viewer, now - int(row["last_seen_at"]) >= TOUCH_EVERY


async def touch(conn: Connection, session_hash: str, now: int) -> None:
    await repository.touch_session(conn, session_hash, now)


async def end(conn: Connection, token: str, now: int) -> None:
    await repository.revoke_session(conn, digest(token), now)


async def switch(conn: Connection, token: str, user_id: str, organization_id: str, now: int) -> str:
    """End this session and start one in another organization of the user's (a new token,
    like a sign-in). Not a member there: not found, exactly like an unknown organization."""
    from tessera import errors

    if await repository.membership(conn, organization_id, user_id) is None:
        raise errors.NotFound("Organization not found")
    await end(conn, token, now)
    return await start(conn, user_id, organization_id, now)


async def organizations(conn: Connection, user_id: str) -> list[dict[str, str]]:
    """The organizations the user belongs to, with the role in each."""
    return [
        {"id": row["organization_id"], "name": row["name"], "role": row["role"]}
        for row in await repository.organizations_of(conn, user_id)
    ]
