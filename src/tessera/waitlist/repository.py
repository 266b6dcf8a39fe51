"""SQL for waitlist entries. The line of a class is its entries in (created_at, id) order.

Locks (PostgreSQL; SQLite runs one writer at a time): joining locks the class row, then the
event row; offering locks the event row; claiming locks the class row, then the event row —
the order Create Attendee takes them in, so none of them waits on another in a cycle. Whoever
holds the event row sees every seat counter and every offer of the event settled.
"""

from __future__ import annotations

from typing import Any

from tessera.db import Connection, Row
from tessera.kit import jsonutil

IN_LINE = ("waiting", "offered")
DEFAULT_OFFER_HOURS = 48

ENTRY_COLUMNS = (
    "w.id, w.organization_id, w.event_id, w.ticket_class_id, w.email, w.first_name,"
    " w.last_name, w.status, w.claim_token, w.attendee_id, w.offered_at, w.offer_expires_at,"
    " w.created_at, w.updated_at"
)


def _for_update(conn: Connection) -> str:
    return " FOR UPDATE" if conn.dialect == "postgresql" else ""


async def lock_class(conn: Connection, class_id: str) -> None:
    await conn.fetchrow(f"SELECT 1 FROM ticket_classes WHERE id = $1{_for_update(conn)}", class_id)


async def lock_event(conn: Connection, event_id: str) -> Row | None:
    """The event's seat counters and approval rule, its row locked until commit."""
    return await conn.fetchrow(
        "SELECT id, organization_id, capacity, tickets_sold, require_approval, status,"
        " registration_status FROM events"
        f" WHERE id = $1{_for_update(conn)}",
        event_id,
    )


async def find(conn: Connection, class_id: str, email: str) -> Row | None:
    return await conn.fetchrow(
        f"SELECT {ENTRY_COLUMNS} FROM waitlist_entries w"
        " WHERE w.ticket_class_id = $1 AND w.email = $2",
        class_id,
        email,
    )


async def get(conn: Connection, entry_id: str) -> Row | None:
    return await conn.fetchrow(
        f"SELECT {ENTRY_COLUMNS} FROM waitlist_entries w WHERE w.id = $1", entry_id
    )


async def by_token(conn: Connection, token: str) -> Row | None:
    return await conn.fetchrow(
        f"SELECT {ENTRY_COLUMNS} FROM waitlist_entries w WHERE w.claim_token = $1", token
    )


async def insert(conn: Connection, values: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO waitlist_entries (id, organization_id, event_id, ticket_class_id, email,"
        " first_name, last_name, status, created_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, 'waiting', $8, $8)",
        values["id"],
        values["organization_id"],
        values["event_id"],
        values["ticket_class_id"],
        values["email"],
        values["first_name"],
        values["last_name"],
        values["created_at"],
    )


async def rejoin(
    conn: Connection, entry_id: str, first_name: str | None, last_name: str | None, now: int
) -> None:
    """An entry that expired or left goes back in line, at its end."""
    await conn.execute(
        "UPDATE waitlist_entries SET status = 'waiting', first_name = $2, last_name = $3,"
        " offered_at = NULL, offer_expires_at = NULL, created_at = $4, updated_at = $4"
        " WHERE id = $1",
        entry_id,
        first_name,
        last_name,
        now,
    )


async def settle_offers(conn: Connection, event_id: str, now: int) -> None:
    """Offers whose invited ticket moved on without the claim page (the organizer approved it,
    a registration upgraded it, it was deleted) are claimed, or left when it was voided."""
    await conn.execute(
        "UPDATE waitlist_entries SET updated_at = $2, status = CASE WHEN (SELECT t.status"
        " FROM tickets t WHERE t.id = waitlist_entries.attendee_id) IN ('rejected', 'deleted')"
        " THEN 'left' ELSE 'claimed' END"
        " WHERE event_id = $1 AND status = 'offered' AND NOT EXISTS (SELECT 1 FROM tickets t"
        " WHERE t.id = waitlist_entries.attendee_id AND t.status = 'invited')",
        event_id,
        now,
    )


async def classes_waiting(conn: Connection, event_id: str) -> list[Row]:
    """Active classes of the event with somebody waiting: their seats and open offers."""
    return await conn.fetch(
        "SELECT tc.id, tc.quantity_total, tc.quantity_sold,"
        " (SELECT count(*) FROM waitlist_entries w WHERE w.ticket_class_id = tc.id"
        "  AND w.status = 'offered') AS offered,"
        " (SELECT min(w.created_at) FROM waitlist_entries w WHERE w.ticket_class_id = tc.id"
        "  AND w.status = 'waiting') AS first_waiting"
        " FROM ticket_classes tc WHERE tc.event_id = $1 AND tc.status = 'active'"
        " AND EXISTS (SELECT 1 FROM waitlist_entries w WHERE w.ticket_class_id = tc.id"
        "  AND w.status = 'waiting') ORDER BY first_waiting, tc.id",
        event_id,
    )


async def offered_in_event(conn: Connection, event_id: str) -> int:
    value = await conn.fetchval(
        "SELECT count(*) FROM waitlist_entries WHERE event_id = $1 AND status = 'offered'",
        event_id,
    )
    return int(value)


async def first_waiting(conn: Connection, class_id: str, limit: int) -> list[Row]:
    return await conn.fetch(
        f"SELECT {ENTRY_COLUMNS} FROM waitlist_entries w WHERE w.ticket_class_id = $1"
        " AND w.status = 'waiting' ORDER BY w.created_at, w.id LIMIT $2",
        class_id,
        limit,
    )


async def offers_ahead(conn: Connection, entry: Row) -> int:
    """Open offers of the same class earlier in line than ``entry``."""
    value = await conn.fetchval(
        "SELECT count(*) FROM waitlist_entries WHERE ticket_class_id = $1 AND status = 'offered'"
        " AND (created_at < $2 OR (created_at = $2 AND id < $3))",
        entry["ticket_class_id"],
        entry["created_at"],
        entry["id"],
    )
    return int(value)


async def class_seats(conn: Connection, class_id: str) -> Row | None:
    return await conn.fetchrow(
        "SELECT quantity_total, quantity_sold, require_approval, status FROM ticket_classes"
        " WHERE id = $1",
        class_id,
    )


async def mark_offered(
    conn: Connection,
    entry_id: str,
    *,
    attendee_id: str,
    token: str,
    expires_at: int,
    now: int,
) -> None:
    await conn.execute(
        "UPDATE waitlist_entries SET status = 'offered', attendee_id = $2, claim_token = $3,"
        " offered_at = $4, offer_expires_at = $5, updated_at = $4 WHERE id = $1",
        entry_id,
        attendee_id,
        token,
        now,
        expires_at,
    )


async def set_status(conn: Connection, entry_id: str, status: str, now: int) -> None:
    """claimed, expired or left; back to waiting keeps the entry's place in line."""
    clear = ", offered_at = NULL, offer_expires_at = NULL" if status == "waiting" else ""
    await conn.execute(
        f"UPDATE waitlist_entries SET status = $2, updated_at = $3{clear} WHERE id = $1",
        entry_id,
        status,
        now,
    )


async def offer_hours(conn: Connection, event_id: str) -> int:
    value = await conn.fetchval(
        "SELECT offer_hours FROM waitlist_settings WHERE event_id = $1", event_id
    )
    return DEFAULT_OFFER_HOURS if value is None else int(value)


async def forget_email(conn: Connection, organization_id: str, email: str, now: int) -> None:
    """GDPR erasure of a person's waitlist entries in one organization: the email becomes an
    undeliverable ``<entry id>@erased.invalid``, names go, and a place still waiting leaves the
    line. An open offer stays until it ends (its expiry passes the seat on), and its email was
    the contact's, now erased, so nobody is written to."""
    await conn.execute(
        "UPDATE waitlist_entries SET email = id || '@erased.invalid', first_name = NULL,"
        " last_name = NULL, status = CASE WHEN status = 'waiting' THEN 'left' ELSE status END,"
        " updated_at = $3 WHERE organization_id = $1 AND email = $2",
        organization_id,
        email,
        now,
    )


async def set_offer_hours(
    conn: Connection, organization_id: str, event_id: str, hours: int, now: int
) -> None:
    await conn.execute(
        "INSERT INTO waitlist_settings (event_id, organization_id, offer_hours, updated_at)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (event_id) DO UPDATE SET"
        " offer_hours = excluded.offer_hours, updated_at = excluded.updated_at",
        event_id,
        organization_id,
        hours,
        now,
    )


async def enqueue_at(
    conn: Connection, organization_id: str, kind: str, topic: str, payload: Any, at: int, now: int
) -> None:
    """An outbox row due at ``at`` (the offer's expiry), not at once."""
    await conn.execute(
        "INSERT INTO outbox (organization_id, kind, topic, payload, ordering_key, status,"
        " attempts, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, NULL, 'pending', 0,"
        " $5, $6)",
        organization_id,
        kind,
        topic,
        jsonutil.dumps(payload).decode(),
        at,
        now,
    )


# The API's list -------------------------------------------------------------------------------

# An offer whose ticket moved on reads as what it became, even before the worker settles it.
_SHOWN_STATUS = (
    "CASE WHEN w.status = 'offered' AND t.status IS NOT NULL AND t.status <> 'invited' THEN"
    " (CASE WHEN t.status IN ('rejected', 'deleted') THEN 'left' ELSE 'claimed' END)"
    " ELSE w.status END"
)


async def list_page(
    conn: Connection,
    organization_id: str,
    event_id: str,
    *,
    statuses: list[str] | None,
    class_id: str | None,
    limit: int,
    offset: int,
) -> tuple[list[Row], int]:
    args: list[Any] = [organization_id, event_id]
    where = ["w.organization_id = $1", "w.event_id = $2"]
    if class_id is not None:
        args.append(class_id)
        where.append(f"w.ticket_class_id = ${len(args)}")
    if statuses is not None:
        marks = []
        for status in statuses:
            args.append(status)
            marks.append(f"${len(args)}")
        where.append(f"{_SHOWN_STATUS} IN ({', '.join(marks)})")
    clause = " AND ".join(where)
    joined = "waitlist_entries w LEFT JOIN tickets t ON t.id = w.attendee_id"
    total = await conn.fetchval(f"SELECT count(*) FROM {joined} WHERE {clause}", *args)
    rows = await conn.fetch(
        f"SELECT {ENTRY_COLUMNS}, {_SHOWN_STATUS} AS shown_status,"
        " (SELECT count(*) FROM waitlist_entries a WHERE a.ticket_class_id = w.ticket_class_id"
        "  AND a.status IN ('waiting', 'offered')"
        "  AND (a.created_at < w.created_at OR (a.created_at = w.created_at AND a.id <= w.id)))"
        " AS place"
        f" FROM {joined} WHERE {clause} ORDER BY w.created_at, w.id"
        f" LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}",
        *args,
        limit,
        offset,
    )
    return rows, int(total)
