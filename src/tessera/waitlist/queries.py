"""Reading the waitlist for organizers (the API; the dashboard when it exists)."""

from __future__ import annotations

from typing import Any

from tessera import errors
from tessera.attendee import repository as tickets
from tessera.db import Connection, Row
from tessera.kit import clock
from tessera.kit.pagination import Page, envelope
from tessera.waitlist import repository

STATUSES = frozenset({"waiting", "offered", "claimed", "expired", "left"})


def present(row: Row) -> dict[str, Any]:
    status = row["shown_status"]
    return {
        "id": row["id"],
        "ticket_class_id": row["ticket_class_id"],
        "email": row["email"],
        "first_name": row["first_name"],
        "last_name": row["last_name"],
        "status": status,
        "position": int(row["place"]) if status in repository.IN_LINE else None,
        "offered_at": clock.iso(row["offered_at"]),
        "offer_expires_at": clock.iso(row["offer_expires_at"]),
        "attendee_id": row["attendee_id"],
        "created_at": clock.iso(row["created_at"]),
    }


async def list_entries(
    conn: Connection,
    organization_id: str,
    event_id: str,
    page: Page,
    *,
    statuses: list[str] | None,
    class_id: str | None,
) -> dict[str, Any]:
    """The event's entries in line order (oldest first); 404 for another organization's."""
    if not await tickets.event_exists(conn, organization_id, event_id):
        raise errors.event_not_found()
    rows, total = await repository.list_page(
        conn,
        organization_id,
        event_id,
        statuses=statuses,
        class_id=class_id,
        limit=page.page_size,
        offset=page.offset,
    )
    return envelope([present(row) for row in rows], total, page)


async def get_settings(conn: Connection, organization_id: str, event_id: str) -> dict[str, Any]:
    if not await tickets.event_exists(conn, organization_id, event_id):
        raise errors.event_not_found()
    return {"offer_hours": await repository.offer_hours(conn, event_id)}


async def set_settings(
    conn: Connection, organization_id: str, event_id: str, hours: int, now: int
) -> dict[str, Any]:
    """Offers made from now on stay open ``hours``; open offers keep their expiry."""
    if not await tickets.event_exists(conn, organization_id, event_id):
        raise errors.event_not_found()
    await repository.set_offer_hours(conn, organization_id, event_id, hours, now)
    return {"offer_hours": hours}
