"""SQL for the public event page and the registration form.

The page is public: the event's ID in its URL is what is shared, so the event is looked up by
its ID alone. Everything after that is filtered by the event's own organization.

"In line" counts the waitlist entries still waiting or holding an offer: the seats they will
take are not offered to newcomers (see ``tessera.public.availability``).
"""

from __future__ import annotations

from tessera.db import Connection, Row

_LINE = "('waiting', 'offered')"

EVENT_COLUMNS = (
    "e.id AS event_id, e.organization_id, e.name AS event_name, e.description, e.status,"
    " e.registration_status, e.capacity, e.tickets_sold, e.start_at, e.start_timezone, e.end_at,"
    " e.end_timezone, e.venue_name, e.venue_address, e.venue_city, e.venue_state,"
    " e.venue_country, e.virtual_url, e.hidden, e.require_approval AS event_requires_approval"
)
CLASS_COLUMNS = (
    "tc.id, tc.name, tc.description AS class_description, tc.currency, tc.cost,"
    " tc.quantity_total, tc.quantity_sold, tc.sales_start, tc.sales_end, tc.minimum_per_order,"
    " tc.maximum_per_order, tc.require_approval, tc.hide_on_event_page"
)


async def event(conn: Connection, event_id: str) -> Row | None:
    """The event with the number of people in line on any of its classes; None if unknown."""
    return await conn.fetchrow(
        f"SELECT {EVENT_COLUMNS}, (SELECT count(*) FROM waitlist_entries w"
        f" WHERE w.event_id = e.id AND w.status IN {_LINE}) AS event_line"
        " FROM events e WHERE e.id = $1",
        event_id,
    )


async def listed_classes(conn: Connection, organization_id: str, event_id: str) -> list[Row]:
    """The event's active classes shown on its page, in creation order, with their line."""
    return await conn.fetch(
        f"SELECT {CLASS_COLUMNS}, (SELECT count(*) FROM waitlist_entries w"
        f" WHERE w.ticket_class_id = tc.id AND w.status IN {_LINE}) AS class_line"
        " FROM ticket_classes tc"
        " WHERE tc.organization_id = $1 AND tc.event_id = $2 AND tc.status = 'active'"
        " AND NOT tc.hide_on_event_page ORDER BY tc.created_at, tc.id",
        organization_id,
        event_id,
    )


async def class_state(conn: Connection, event_id: str, class_id: str) -> Row | None:
    """One class of a listed event with its seats and line and the event's (one statement);
    None unless it is an active class of this event shown on its page."""
    return await conn.fetchrow(
        f"SELECT {EVENT_COLUMNS}, {CLASS_COLUMNS},"
        f" (SELECT count(*) FROM waitlist_entries w WHERE w.event_id = e.id"
        f"  AND w.status IN {_LINE}) AS event_line,"
        f" (SELECT count(*) FROM waitlist_entries w WHERE w.ticket_class_id = tc.id"
        f"  AND w.status IN {_LINE}) AS class_line"
        " FROM events e JOIN ticket_classes tc ON tc.organization_id = e.organization_id"
        " AND tc.event_id = e.id AND tc.id = $2 AND tc.status = 'active'"
        " AND NOT tc.hide_on_event_page WHERE e.id = $1",
        event_id,
        class_id,
    )


async def secret(conn: Connection, name: str) -> str | None:
    value: str | None = await conn.fetchval("SELECT value FROM site_secrets WHERE name = $1", name)
    return value


async def insert_secret(conn: Connection, name: str, value: str, now: int) -> None:
    """Keep the first value stored under ``name``: concurrent first uses agree on one."""
    await conn.execute(
        "INSERT INTO site_secrets (name, value, created_at) VALUES ($1, $2, $3)"
        " ON CONFLICT (name) DO NOTHING",
        name,
        value,
        now,
    )
