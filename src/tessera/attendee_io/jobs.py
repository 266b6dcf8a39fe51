"""SQL of keyed imports in progress: the lease on the key and each finished row's result."""

from __future__ import annotations

from typing import Any

from tessera.db import Connection, Row
from tessera.kit import jsonutil

KEPT_MICROS = 24 * 3600 * 1_000_000  # as long as an Idempotency-Key is remembered


async def find(conn: Connection, api_key_id: str, key: str) -> Row | None:
    lock = " FOR UPDATE" if conn.dialect == "postgresql" else ""
    return await conn.fetchrow(
        "SELECT id, fingerprint, lease_owner, lease_until FROM attendee_imports"
        f" WHERE api_key_id = $1 AND idempotency_key = $2{lock}",
        api_key_id,
        key,
    )


async def insert(conn: Connection, values: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO attendee_imports (id, organization_id, event_id, api_key_id,"
        " idempotency_key, fingerprint, lease_owner, lease_until, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        values["id"],
        values["organization_id"],
        values["event_id"],
        values["api_key_id"],
        values["idempotency_key"],
        values["fingerprint"],
        values["lease_owner"],
        values["lease_until"],
        values["created_at"],
    )


async def take_lease(conn: Connection, import_id: str, owner: str, until: int) -> None:
    await conn.execute(
        "UPDATE attendee_imports SET lease_owner = $2, lease_until = $3 WHERE id = $1",
        import_id,
        owner,
        until,
    )


async def renew_lease(conn: Connection, import_id: str, owner: str, until: int) -> bool:
    """False when another request has taken the import over (this one's lease ran out)."""
    changed = await conn.execute(
        "UPDATE attendee_imports SET lease_until = $3 WHERE id = $1 AND lease_owner = $2",
        import_id,
        owner,
        until,
    )
    return changed == 1


async def purge_expired(conn: Connection, now: int) -> None:
    """Imports abandoned for longer than a key is remembered (their rows go with them)."""
    await conn.execute(
        "DELETE FROM attendee_import_rows WHERE import_id IN"
        " (SELECT id FROM attendee_imports WHERE created_at <= $1)",
        now - KEPT_MICROS,
    )
    await conn.execute("DELETE FROM attendee_imports WHERE created_at <= $1", now - KEPT_MICROS)


async def finished_rows(conn: Connection, import_id: str) -> dict[int, dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT row_no, result FROM attendee_import_rows WHERE import_id = $1", import_id
    )
    return {int(row["row_no"]): jsonutil.loads(row["result"]) for row in rows}


async def record_row(conn: Connection, import_id: str, row: int, result: dict[str, Any]) -> None:
    """In the row's own transaction; the primary key refuses a row recorded twice."""
    await conn.defer(
        "INSERT INTO attendee_import_rows (import_id, row_no, result) VALUES ($1, $2, $3)",
        import_id,
        row,
        jsonutil.dumps(result).decode(),
    )


async def delete(conn: Connection, import_id: str) -> None:
    await conn.execute("DELETE FROM attendee_import_rows WHERE import_id = $1", import_id)
    await conn.execute("DELETE FROM attendee_imports WHERE id = $1", import_id)
