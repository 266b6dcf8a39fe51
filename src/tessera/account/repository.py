"""SQL for users, memberships and dashboard sessions. Membership queries start from the
organization, so a user of one organization never reaches another's team."""

from __future__ import annotations

from tessera.db import Connection, Row


async def get_user_by_email(conn: Connection, email: str) -> Row | None:
    return await conn.fetchrow(
        "SELECT id, email, name, password_hash, password_changed_at FROM users WHERE email = $1",
        email,
    )


async def get_user(conn: Connection, user_id: str) -> Row | None:
    return await conn.fetchrow(
        "SELECT id, email, name, password_hash, password_changed_at FROM users WHERE id = $1",
        user_id,
    )


async def insert_user(
    conn: Connection, user_id: str, email: str, name: str | None, password_hash: str, now: int
) -> None:
    await conn.execute(
        "INSERT INTO users (id, email, name, password_hash, password_changed_at, created_at,"
        " updated_at) VALUES ($1, $2, $3, $4, $5, $5, $5)",
        user_id,
        email,
        name,
        password_hash,
        now,
    )


async def set_password_hash(conn: Connection, user_id: str, password_hash: str, now: int) -> None:
    await conn.execute(
        "UPDATE users SET password_hash = $2, password_changed_at = $3, updated_at = $3"
        " WHERE id = $1",
        user_id,
        password_hash,
        now,
    )


async def first_membership(conn: Connection, user_id: str) -> Row | None:
    """The organization a sign-in opens: the user's oldest membership."""
    return await conn.fetchrow(
        "SELECT organization_id, role FROM memberships WHERE user_id = $1"
        " ORDER BY created_at, organization_id LIMIT 1",
        user_id,
    )


async def organizations_of(conn: Connection, user_id: str) -> list[Row]:
    return await conn.fetch(
        "SELECT m.organization_id, o.name, m.role FROM memberships m"
        " JOIN organizations o ON o.id = m.organization_id WHERE m.user_id = $1"
        " ORDER BY m.created_at, m.organization_id",
        user_id,
    )


async def membership(conn: Connection, organization_id: str, user_id: str) -> Row | None:
    return await conn.fetchrow(
        "SELECT m.role, u.id, u.email, u.name FROM memberships m JOIN users u ON u.id = m.user_id"
        " WHERE m.organization_id = $1 AND m.user_id = $2",
        organization_id,
        user_id,
    )


async def upsert_membership(
    conn: Connection, organization_id: str, user_id: str, role: str, now: int
) -> None:
    await conn.execute(
        "INSERT INTO memberships (organization_id, user_id, role, created_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $4) ON CONFLICT (organization_id, user_id)"
        " DO UPDATE SET role = excluded.role, updated_at = excluded.updated_at",
        organization_id,
        user_id,
        role,
        now,
    )


async def delete_membership(conn: Connection, organization_id: str, user_id: str) -> int:
    return await conn.execute(
        "DELETE FROM memberships WHERE organization_id = $1 AND user_id = $2",
        organization_id,
        user_id,
    )


async def members(conn: Connection, organization_id: str) -> list[Row]:
    return await conn.fetch(
        "SELECT u.id, u.email, u.name, m.role, m.created_at FROM memberships m"
        " JOIN users u ON u.id = m.user_id WHERE m.organization_id = $1"
        " ORDER BY m.created_at, u.email",
        organization_id,
    )


async def count_owners(conn: Connection, organization_id: str) -> int:
    value = await conn.fetchval(
        "SELECT count(*) FROM memberships WHERE organization_id = $1 AND role = 'owner'",
        organization_id,
    )
    return int(value)


async def lock_team(conn: Connection, organization_id: str) -> None:
    """Serialize changes to one organization's team (the last-owner rule reads then writes)."""
    if conn.dialect == "postgresql":
        await conn.execute("SELECT 1 FROM organizations WHERE id = $1 FOR UPDATE", organization_id)


# Sessions ----------------------------------------------------------------------------------


async def insert_session(
    conn: Connection,
    id_hash: str,
    user_id: str,
    organization_id: str,
    csrf_token: str,
    now: int,
    expires_at: int,
) -> None:
    await conn.execute(
        "INSERT INTO dashboard_sessions (id_hash, user_id, organization_id, csrf_token,"
        " created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $5, $5, $6)",
        id_hash,
        user_id,
        organization_id,
        csrf_token,
        now,
        expires_at,
    )


async def forget_dead_sessions(conn: Connection, user_id: str, now: int, idle_since: int) -> None:
    """Delete the user's sessions that can never be used again (their table stays small)."""
    await conn.execute(
        "DELETE FROM dashboard_sessions WHERE user_id = $1 AND (revoked_at IS NOT NULL"
        " OR expires_at <= $2 OR last_seen_at <= $3)",
        user_id,
        now,
        idle_since,
    )


async def live_session(conn: Connection, id_hash: str, now: int, idle_since: int) -> Row | None:
    """The session with its user and current role, if it is live: not revoked, within its
    absolute limit, seen since ``idle_since``, and its user still a member."""
    return await conn.fetchrow(
        "SELECT s.id_hash, s.user_id, s.organization_id, s.csrf_token, s.created_at,"
        " s.last_seen_at, u.email, u.name, m.role, o.name AS organization_name"
        " FROM dashboard_sessions s JOIN users u ON u.id = s.user_id"
        " JOIN memberships m ON m.organization_id = s.organization_id AND m.user_id = s.user_id"
        " JOIN organizations o ON o.id = s.organization_id"
        " WHERE s.id_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2"
        " AND s.last_seen_at > $3",
        id_hash,
        now,
        idle_since,
    )


async def touch_session(conn: Connection, id_hash: str, now: int) -> None:
    await conn.execute(
        "UPDATE dashboard_sessions SET last_seen_at = $2 WHERE id_hash = $1 AND revoked_at IS NULL",
        id_hash,
        now,
    )


async def revoke_session(conn: Connection, id_hash: str, now: int) -> None:
    await conn.execute(
        "UPDATE dashboard_sessions SET revoked_at = $2 WHERE id_hash = $1 AND revoked_at IS NULL",
        id_hash,
        now,
    )


async def revoke_user_sessions(
    conn: Connection, user_id: str, now: int, keep: str | None = None
) -> None:
    await conn.execute(
        "UPDATE dashboard_sessions SET revoked_at = $2"
        " WHERE user_id = $1 AND revoked_at IS NULL AND id_hash <> $3",
        user_id,
        now,
        keep or "",
    )


async def revoke_member_sessions(
    conn: Connection, organization_id: str, user_id: str, now: int
) -> None:
    await conn.execute(
        "UPDATE dashboard_sessions SET revoked_at = $3"
        " WHERE organization_id = $1 AND user_id = $2 AND revoked_at IS NULL",
        organization_id,
        user_id,
        now,
    )


# Sign-in throttle ----------------------------------------------------------------------------


async def failures(conn: Connection, keys: list[str], window_start: int) -> dict[str, int]:
    marks = ", ".join(f"${i + 2}" for i in range(len(keys)))
    rows = await conn.fetch(
        f"SELECT key, failures FROM sign_in_failures WHERE window_started_at > $1"
        f" AND key IN ({marks})",
        window_start,
        *keys,
    )
    return {row["key"]: int(row["failures"]) for row in rows}


async def add_failure(conn: Connection, key: str, now: int, window_start: int) -> None:
    """One more failure for ``key``; a window that began before ``window_start`` starts over."""
    await conn.execute(
        "INSERT INTO sign_in_failures (key, failures, window_started_at) VALUES ($1, 1, $2)"
        " ON CONFLICT (key) DO UPDATE SET"
        " failures = CASE WHEN sign_in_failures.window_started_at > $3"
        " THEN sign_in_failures.failures + 1 ELSE 1 END,"
        " window_started_at = CASE WHEN sign_in_failures.window_started_at > $3"
        " THEN sign_in_failures.window_started_at ELSE $2 END",
        key,
        now,
        window_start,
    )


async def forget_old_failures(conn: Connection, window_start: int) -> None:
    await conn.execute("DELETE FROM sign_in_failures WHERE window_started_at <= $1", window_start)


async def clear_failures(conn: Connection, key: str) -> None:
    await conn.execute("DELETE FROM sign_in_failures WHERE key = $1", key)
