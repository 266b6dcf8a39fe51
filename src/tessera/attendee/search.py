"""SQL for searching an event's attendees by name or email, built for big events (the
dashboard's search; the API's ``q`` keeps its own query in ``repository.list_page``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from tessera.attendee.repository import LISTED, ORDERS
from tessera.db import Connection, Row

# A search finds the matching contacts first (one pass over the organization's contacts, no
# join), then their tickets on the event through the (contact, event, status) index: an event
# of 100,000 attendees is never walked for a name that holds a handful of tickets. More
# matching contacts than this and the search is dense: the event's tickets are walked in order
# instead, which finds a page of matches quickly, and the total is not counted.
SEARCH_CONTACTS_CAP = 1000


def _like_pattern(query: str) -> str:
    escaped = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def matching_contacts(conn: Connection, organization_id: str, query: str) -> list[str] | None:
    """IDs of the organization's contacts whose email or names contain ``query`` (any case),
    or None when there are more than :data:`SEARCH_CONTACTS_CAP`."""
    like = "ILIKE" if conn.dialect == "postgresql" else "LIKE"  # SQLite's LIKE ignores case
    rows = await conn.fetch(
        f"SELECT id FROM contacts WHERE organization_id = $1 AND (email {like} $2 ESCAPE '\\'"
        f" OR first_name {like} $2 ESCAPE '\\' OR last_name {like} $2 ESCAPE '\\')"
        f" LIMIT {SEARCH_CONTACTS_CAP + 1}",
        organization_id,
        _like_pattern(query),
    )
    if len(rows) > SEARCH_CONTACTS_CAP:
        return None
    return [row["id"] for row in rows]


async def page_of_contacts(
    conn: Connection,
    organization_id: str,
    event_id: str,
    contact_ids: Sequence[str],
    *,
    statuses: Sequence[str],
    ticket_class_id: str | None,
    limit: int,
    offset: int,
    order: str = "created",
) -> tuple[list[Row], int]:
    """One page of the event's tickets held by ``contact_ids`` (rows of ``LISTED``), and their
    total."""
    if not contact_ids:
        return [], 0
    args: list[Any] = [organization_id, event_id, json.dumps(list(contact_ids))]

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    if conn.dialect == "postgresql":
        source = "(SELECT value AS id FROM json_array_elements_text($3::json)) m JOIN"
    else:  # CROSS JOIN keeps SQLite's planner on this order: contacts first
        source = "(SELECT value AS id FROM json_each($3)) m CROSS JOIN"
    where = ["t.organization_id = $1", "t.event_id = $2"]
    where.append(f"t.status IN ({', '.join(arg(s) for s in statuses)})")
    if ticket_class_id is not None:
        where.append(f"t.ticket_class_id = {arg(ticket_class_id)}")
    clause = " AND ".join(where)
    joined = (
        f" FROM {source} tickets t ON t.contact_id = m.id"
        " JOIN contacts c ON c.id = t.contact_id"
        " JOIN ticket_classes tc ON tc.id = t.ticket_class_id"
        f" WHERE {clause}"
    )
    total = await conn.fetchval(f"SELECT count(*){joined}", *args)
    window = f" LIMIT {arg(limit)} OFFSET {arg(offset)}"
    rows = await conn.fetch(f"SELECT {LISTED}{joined} ORDER BY {ORDERS[order]}{window}", *args)
    return rows, int(total)
