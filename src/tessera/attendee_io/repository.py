"""SQL of the attendee export: an event's tickets in creation order, a chunk at a time."""

from __future__ import annotations

from typing import Any

from tessera.attendee.filters import Filters
from tessera.db import Connection, Row

# The page of tickets is picked first, alone, and joined to contacts and classes after: the
# planner then cannot trade the index walk for a join-then-sort of the whole rest of the event
# (PostgreSQL did, on tables without statistics: 20 times slower).
_COLUMNS = (
    "t.id, t.status, t.ticket_class_id, tc.name, c.first_name, c.last_name, c.email, c.phone,"
    " t.payment_id, t.payment_method, t.checked_in_at, t.created_at, t.updated_at, t.answers"
)
_TICKET_COLUMNS = (
    "t.id, t.status, t.ticket_class_id, t.contact_id, t.payment_id, t.payment_method,"
    " t.checked_in_at, t.created_at, t.updated_at, t.answers"
)


async def chunk(
    conn: Connection,
    organization_id: str,
    event_id: str,
    filters: Filters,
    after: tuple[int, str] | None,
    limit: int,
) -> list[Row]:
    """Up to ``limit`` tickets after ``after`` (created_at, id), walking the (event,
    created_at, id) index: a keyset, so every chunk costs the same however deep the export
    is (an OFFSET would re-read everything before it)."""
    args: list[Any] = [organization_id, event_id]
    clause = filters.where(args)
    if after is not None:
        args += list(after)
        clause += f" AND (t.created_at, t.id) > (${len(args) - 1}, ${len(args)})"
    args.append(limit)
    by_contact = (
        " JOIN contacts c ON c.id = t.contact_id"
        if filters.email is not None or filters.query is not None
        else ""
    )
    return await conn.fetch(
        f"SELECT {_COLUMNS} FROM (SELECT {_TICKET_COLUMNS} FROM tickets t{by_contact}"
        f" WHERE t.organization_id = $1 AND t.event_id = $2 AND {clause}"
        f" ORDER BY t.created_at, t.id LIMIT ${len(args)}) t"
        " JOIN contacts c ON c.id = t.contact_id"
        " JOIN ticket_classes tc ON tc.id = t.ticket_class_id"
        " ORDER BY t.created_at, t.id",
        *args,
    )
