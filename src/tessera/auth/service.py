"""Organizations and API keys: creation, revocation, and authentication of a request's key."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from tessera.auth import keys, repository, scopes
from tessera.db import Connection
from tessera.errors import NotFound, Unauthorized
from tessera.kit import clock, ids


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: one API key of one organization, with its scopes."""

    api_key_id: str
    organization_id: str
    scopes: scopes.Scopes


async def create_organization(conn: Connection, name: str, now: int) -> dict[str, Any]:
    org_id = ids.organization_id()
    await repository.insert_organization(conn, org_id, name, now)
    return {"id": org_id, "name": name, "created_at": clock.iso(now)}


async def create_api_key(
    conn: Connection, organization_id: str, name: str, key_scopes: dict[str, str], now: int
) -> dict[str, Any]:
    """Create a key and return it with the secret, which is never retrievable again."""
    if await repository.get_organization(conn, organization_id) is None:
        raise NotFound(f"Organization {organization_id} not found")
    secret = keys.generate()
    key_id = ids.api_key_id()
    await repository.insert_api_key(
        conn,
        key_id=key_id,
        organization_id=organization_id,
        name=name,
        display_prefix=keys.display_prefix(secret),
        key_hash=keys.digest(secret),
        scopes=scopes.encode(key_scopes),
        now=now,
    )
    return {
        "id": key_id,
        "key": secret,
        "organization_id": organization_id,
        "name": name,
        "scopes": key_scopes,
        "created_at": clock.iso(now),
    }


def present_key(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "organization_id": row["organization_id"],
        "name": row["name"],
        "prefix": row["display_prefix"] + "…",
        "scopes": dict(scopes.decode(row["scopes"])),
        "created_at": clock.iso(row["created_at"]),
        "revoked_at": clock.iso(row["revoked_at"]),
    }


async def list_api_keys(conn: Connection, organization_id: str) -> list[dict[str, Any]]:
    if await repository.get_organization(conn, organization_id) is None:
        raise NotFound(f"Organization {organization_id} not found")
    return [present_key(row) for row in await repository.list_keys(conn, organization_id)]


async def revoke_api_key(conn: Connection, key_id: str, now: int) -> dict[str, Any]:
    row = await repository.revoke(conn, key_id, now)
    if row is None:
        raise NotFound(f"API key {key_id} not found")
    return present_key(row)


async def revoke_organization_key(
    conn: Connection, organization_id: str, key_id: str, now: int
) -> dict[str, Any]:
    """Revoke one of the organization's keys; another organization's key is not found."""
    if not any(key["id"] == key_id for key in await list_api_keys(conn, organization_id)):
        raise NotFound("API key not found")
    return await revoke_api_key(conn, key_id, now)


MISSING_KEY = "Missing X-API-KEY header"
INVALID_KEY = "Invalid or revoked API key"


def _principal(row: Any, digest: str) -> Principal:
    if (
        row is None
        or row["revoked_at"] is not None
        or not hmac.compare_digest(row["key_hash"], digest)
    ):
        raise Unauthorized(INVALID_KEY, code="invalid_api_key")
    return Principal(row["id"], row["organization_id"], scopes.decode(row["scopes"]))


async def authenticate(conn: Connection, presented: str) -> Principal:
    """Find the key by its digest; revoked and unknown keys are indistinguishable."""
    digest = keys.digest(presented)
    return _principal(await repository.find_by_hash(conn, digest), digest)


async def authenticate_with_outcome(
    conn: Connection, presented: str, idempotency_key: str, stored_since: int
) -> tuple[Principal, Any | None]:
    """:func:`authenticate`, also fetching the stored outcome of an Idempotency-Key.

    The outcome is only handed back, never acted on: scope checks still come first.
    """
    digest = keys.digest(presented)
    row = await repository.find_by_hash_with_outcome(conn, digest, idempotency_key, stored_since)
    principal = _principal(row, digest)
    assert row is not None
    return principal, (row if row["status_code"] is not None else None)
