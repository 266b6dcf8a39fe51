"""Users and teams: create a user, set a password, list and change an organization's team.

Services take the connection and never commit. Hashing a password is slow on purpose, so the
caller hashes first (``passwords.hash_password`` in a thread) and passes the hash in.
"""

from __future__ import annotations

from typing import Any

from tessera import errors
from tessera.account import repository
from tessera.auth import repository as organizations
from tessera.contact.schemas import normalize_email
from tessera.db import Connection
from tessera.kit import clock, ids

ROLES = ("owner", "admin", "door")


def user_id() -> str:
    return "usr_" + ids.random_string(20)


def check_role(role: str) -> str:
    if role not in ROLES:
        raise errors.field_error("role", f"must be one of {', '.join(ROLES)}")
    return role


def check_email(email: str) -> str:
    try:
        return normalize_email(email)
    except ValueError as exc:
        raise errors.field_error("email", str(exc)) from None


def present_member(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "email": row["email"],
        "name": row["name"],
        "role": row["role"],
        "created_at": clock.iso(row["created_at"]),
    }


async def add_member(
    conn: Connection,
    organization_id: str,
    email: str,
    role: str,
    password_hash: str,
    now: int,
    name: str | None = None,
) -> dict[str, Any]:
    """Give ``email`` the ``role`` in the organization, creating the user (with
    ``password_hash``) when there is none. An existing user keeps their password. A user who
    is already a member is refused (409): changing a role is its own action."""
    email = check_email(email)
    check_role(role)
    if await organizations.get_organization(conn, organization_id) is None:
        raise errors.NotFound(f"Organization {organization_id} not found")
    user = await repository.get_user_by_email(conn, email)
    created = user is None
    if user is None:
        new_id = user_id()
        await repository.insert_user(conn, new_id, email, name, password_hash, now)
        uid = new_id
    else:
        uid = user["id"]
        if await repository.membership(conn, organization_id, uid) is not None:
            raise errors.Conflict("This person is already on the team", code="already_a_member")
    await repository.upsert_membership(conn, organization_id, uid, role, now)
    return {
        "id": uid,
        "email": email,
        "name": name if created else user["name"] if user else None,
        "role": role,
        "organization_id": organization_id,
        "created": created,
    }


async def get_user(conn: Connection, user_id: str) -> Any:
    return await repository.get_user(conn, user_id)


async def set_password(
    conn: Connection, email: str, password_hash: str, now: int, keep_session: str | None = None
) -> dict[str, Any]:
    """Replace a user's password and end every session of theirs (but ``keep_session``, the one
    that changed it): whoever knew the old password is signed out."""
    user = await repository.get_user_by_email(conn, check_email(email))
    if user is None:
        raise errors.NotFound("User not found")
    await repository.set_password_hash(conn, user["id"], password_hash, now)
    await repository.revoke_user_sessions(conn, user["id"], now, keep=keep_session)
    return {"id": user["id"], "email": user["email"]}


async def team(conn: Connection, organization_id: str) -> list[dict[str, Any]]:
    return [present_member(row) for row in await repository.members(conn, organization_id)]


async def change_role(
    conn: Connection, organization_id: str, user_id: str, role: str, now: int
) -> None:
    """Change a member's role; the organization always keeps at least one owner."""
    await repository.lock_team(conn, organization_id)
    member = await repository.membership(conn, organization_id, user_id)
    if member is None:
        raise errors.NotFound("Team member not found")
    check_role(role)
    if member["role"] == "owner" and role != "owner":
        await _keep_an_owner(conn, organization_id)
    await repository.upsert_membership(conn, organization_id, user_id, role, now)


async def remove_member(conn: Connection, organization_id: str, user_id: str, now: int) -> None:
    """Remove a member and end their sessions in this organization; never the last owner."""
    await repository.lock_team(conn, organization_id)
    member = await repository.membership(conn, organization_id, user_id)
    if member is None:
        raise errors.NotFound("Team member not found")
    if member["role"] == "owner":
        await _keep_an_owner(conn, organization_id)
    await repository.revoke_member_sessions(conn, organization_id, user_id, now)
    await repository.delete_membership(conn, organization_id, user_id)


async def _keep_an_owner(conn: Connection, organization_id: str) -> None:
    if await repository.count_owners(conn, organization_id) <= 1:
        raise errors.Conflict("An organization needs at least one owner", code="last_owner")
