"""SQL for tickets (attendees) and the seat counters they hold.

Seats are counted on two rows: ``ticket_classes.quantity_sold`` and ``events.tickets_sold``.
A seat is taken by a conditional UPDATE that succeeds only while there is room, so the check and
the increment are one atomic step on both databases (PostgreSQL re-checks the condition on the
latest row version after waiting for the row lock; SQLite runs one writer at a time). The class
row is always taken before the event row, so two transactions never wait on each other in a
cycle.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from tessera.db import Connection, OneStatement, Row
from tessera.webhook import emit as webhook_emit

SEAT_STATUSES = frozenset({"valid", "checked_in"})

_SELECT = (
    "SELECT t.id, t.status, t.ticket_class_id, tc.name AS ticket_class_name, t.barcode,"
    " c.first_name, c.last_name, c.email, t.payment_id, t.payment_method, t.checked_in_at,"
    " t.created_at, t.updated_at, t.event_id, t.contact_id, t.answers"
    " FROM tickets t JOIN contacts c ON c.id = t.contact_id"
    " JOIN ticket_classes tc ON tc.id = t.ticket_class_id"
)


async def event_and_class(
    conn: Connection, organization_id: str, event_id: str, class_id: str
) -> Row | None:
    """The event (None: not found) with the class if it is an active class of that event."""
    return await conn.fetchrow(
        "SELECT e.id AS event_id, e.require_approval AS event_requires_approval,"
        " tc.id AS class_id, tc.name, tc.cost, tc.currency,"
        " tc.require_approval AS class_requires_approval"
        " FROM events e LEFT JOIN ticket_classes tc"
        " ON tc.id = $3 AND tc.event_id = e.id AND tc.status = 'active'"
        " WHERE e.organization_id = $1 AND e.id = $2",
        organization_id,
        event_id,
        class_id,
    )


# The seats a Create Attendee takes: all requested ones, unless the status was left to its
# default and the class or the event requires approval (then the tickets are pending: none).
_SEATS_ASKED = (
    "(CASE WHEN $5 OR NOT (require_approval OR (SELECT e.require_approval FROM events e"
    " WHERE e.id = $2)) THEN $4 ELSE 0 END)"
)


async def claim_class_for_create(
    conn: Connection,
    organization_id: str,
    event_id: str,
    class_id: str,
    seats: int,
    status_given: bool,
) -> Row | None:
    """Look the class up and take its seats in one statement (the hot path's first write).

    Returns the class with ``seats`` (how many were taken), both approval flags and
    ``event_claimed``, or None when the class is not an active class of this event or lacks
    room; the caller tells which. The ``status = 'active'`` condition is re-checked by
    PostgreSQL after waiting for the row lock, so a class deleted meanwhile takes no seat.

    On PostgreSQL the same statement also takes the seats in the event (``event_claimed``
    says whether there was room): the class row lock is held until commit, so every round trip
    saved after taking it is throughput on a hot class. SQLite has no data-modifying ``WITH``:
    there ``event_claimed`` is NULL and the caller takes the event's seats itself.
    """
    claim = (
        f"UPDATE ticket_classes SET quantity_sold = quantity_sold + {_SEATS_ASKED}"
        " WHERE organization_id = $1 AND event_id = $2 AND id = $3 AND status = 'active'"
        f" AND ({_SEATS_ASKED} = 0 OR quantity_total = 0"
        f" OR quantity_sold + {_SEATS_ASKED} <= quantity_total)"
        f" RETURNING name, cost, currency, require_approval, {_SEATS_ASKED} AS seats,"
        " (SELECT e.require_approval FROM events e WHERE e.id = $2) AS event_requires_approval"
    )
    if conn.dialect == "sqlite":
        sql = f"{claim}, NULL AS event_claimed"
    else:
        sql = (
            f"WITH c AS ({claim}), e AS ("
            " UPDATE events SET tickets_sold = tickets_sold + c.seats FROM c"
            " WHERE events.id = $2 AND c.seats > 0"
            " AND (events.capacity = 0 OR events.tickets_sold + c.seats <= events.capacity)"
            " RETURNING events.id)"
            " SELECT c.*, EXISTS (SELECT 1 FROM e) AS event_claimed FROM c"
        )
    return await conn.fetchrow(sql, organization_id, event_id, class_id, seats, status_given)


async def create_state(
    conn: Connection, organization_id: str, event_id: str, class_id: str, email: str
) -> Row | None:
    """What a Create Attendee sent as one statement decides from, in one read: the event
    (None: not found) with its seats, the class if it is an active class of that event, and the
    contact with that email, if any, with whether it holds invited tickets on the event and the
    version of its row (``xmin``: every write of the row makes a new one); and whether the
    organization has an enabled webhook endpoint (``webhooks``)."""
    return await conn.fetchrow(
        "SELECT e.require_approval AS event_requires_approval, e.capacity, e.tickets_sold,"
        f" {webhook_emit.ANY_ENABLED} AS webhooks,"
        " tc.id AS class_id, tc.name, tc.cost, tc.currency, tc.require_approval,"
        " tc.quantity_total, tc.quantity_sold,"
        " c.id AS contact_id, c.first_name, c.last_name, c.xmin::text AS contact_version,"
        " (c.id IS NOT NULL AND EXISTS (SELECT 1 FROM tickets t WHERE t.contact_id = c.id"
        " AND t.event_id = e.id AND t.status = 'invited')) AS has_invited"
        " FROM events e LEFT JOIN ticket_classes tc"
        " ON tc.id = $3 AND tc.event_id = e.id AND tc.status = 'active'"
        " LEFT JOIN contacts c ON c.organization_id = $1 AND c.email = $4"
        " WHERE e.organization_id = $1 AND e.id = $2",
        organization_id,
        event_id,
        class_id,
        email,
    )


# The class as create_state read it: active, in this event, and every value the create used.
_CLASS_AS_READ = (
    "organization_id = $1 AND event_id = $2 AND id = $3 AND status = 'active'"
    " AND name = $4 AND cost = $5 AND currency = $6 AND require_approval = $7"
)


async def expect_class(
    conn: OneStatement, organization_id: str, event_id: str, state: Row, seats: int
) -> None:
    """The class takes ``seats`` while it has room and is still as read (with none to take,
    it is still as read), or the one statement is stale. The same conditional update as the
    transaction's claim: PostgreSQL re-checks it on the latest row after the row lock."""
    args = (
        organization_id,
        event_id,
        state["class_id"],
        state["name"],
        state["cost"],
        state["currency"],
        state["require_approval"],
    )
    if not seats:
        await conn.expect(1, f"SELECT 1 FROM ticket_classes WHERE {_CLASS_AS_READ}", *args)
        return
    await conn.expect(
        1,
        "UPDATE ticket_classes SET quantity_sold = quantity_sold + $8"
        f" WHERE {_CLASS_AS_READ}"
        " AND (quantity_total = 0 OR quantity_sold + $8 <= quantity_total) RETURNING 1",
        *args,
        seats,
    )


async def expect_event(
    conn: OneStatement, organization_id: str, event_id: str, state: Row, seats: int
) -> None:
    """The event takes ``seats`` while it has room, its approval rule as read (with none to
    take, its rule as read), or the one statement is stale."""
    as_read = "organization_id = $1 AND id = $2 AND require_approval = $3"
    args = (organization_id, event_id, state["event_requires_approval"])
    if not seats:
        await conn.expect(1, f"SELECT 1 FROM events WHERE {as_read}", *args)
        return
    await conn.expect(
        1,
        f"UPDATE events SET tickets_sold = tickets_sold + $4 WHERE {as_read}"
        " AND (capacity = 0 OR tickets_sold + $4 <= capacity) RETURNING 1",
        *args,
        seats,
    )


async def expect_no_invited(conn: OneStatement, event_id: str, contact_id: str) -> None:
    """Still no invited ticket of the contact on the event (one would have to be upgraded).

    This sees the statement's snapshot only. An invited ticket committed while the statement
    waited on a row lock is not in it; but whatever makes one writes its contact row too (the
    upsert of a create), and the contact's update (``contacts.expect_update``) re-checks its
    row version after that lock, so the statement is stale then."""
    await conn.expect(
        0,
        "SELECT 1 FROM tickets WHERE contact_id = $1 AND event_id = $2 AND status = 'invited'"
        " LIMIT 1",
        contact_id,
        event_id,
    )


async def take_class_seats(conn: Connection, class_id: str, seats: int) -> bool:
    """Take seats in an active class if it has room (one atomic conditional update)."""
    changed = await conn.execute(
        "UPDATE ticket_classes SET quantity_sold = quantity_sold + $2"
        " WHERE id = $1 AND status = 'active'"
        " AND (quantity_total = 0 OR quantity_sold + $2 <= quantity_total)",
        class_id,
        seats,
    )
    return changed == 1


async def take_event_seats(conn: Connection, event_id: str, seats: int) -> bool:
    changed = await conn.execute(
        "UPDATE events SET tickets_sold = tickets_sold + $2"
        " WHERE id = $1 AND (capacity = 0 OR tickets_sold + $2 <= capacity)",
        event_id,
        seats,
    )
    return changed == 1


async def release_seat(conn: Connection, class_id: str, event_id: str) -> None:
    await conn.execute(
        "UPDATE ticket_classes SET quantity_sold = quantity_sold - 1 WHERE id = $1", class_id
    )
    await conn.execute("UPDATE events SET tickets_sold = tickets_sold - 1 WHERE id = $1", event_id)


async def class_remaining(conn: Connection, class_id: str) -> int:
    row = await conn.fetchrow(
        "SELECT quantity_total - quantity_sold FROM ticket_classes WHERE id = $1", class_id
    )
    return 0 if row is None else int(row[0])


async def event_remaining(conn: Connection, event_id: str) -> int:
    row = await conn.fetchrow("SELECT capacity - tickets_sold FROM events WHERE id = $1", event_id)
    return 0 if row is None else int(row[0])


async def invited_of_contact(
    conn: Connection, event_id: str, contact_id: str, limit: int
) -> list[Row]:
    """The contact's invited tickets on the event, oldest first, locked for the upgrade."""
    lock = " FOR UPDATE OF t" if conn.dialect == "postgresql" else ""
    return await conn.fetch(
        "SELECT t.id, t.barcode, t.created_at, t.answers FROM tickets t"
        " WHERE t.event_id = $1 AND t.contact_id = $2 AND t.status = 'invited'"
        f" ORDER BY t.created_at, t.id LIMIT $3{lock}",
        event_id,
        contact_id,
        limit,
    )


async def upgrade(
    conn: Connection,
    ticket_ids: Sequence[str],
    *,
    status: str,
    class_id: str,
    payment_id: str,
    payment_method: str,
    checked_in_at: int | None,
    now: int,
    answers: str | None = None,
) -> None:
    """Upgrade invited tickets; answers given with the request replace theirs."""
    marks = ", ".join(f"${i + 8}" for i in range(len(ticket_ids)))
    await conn.execute(
        "UPDATE tickets SET status = $1, ticket_class_id = $2, payment_id = $3,"
        " payment_method = $4, checked_in_at = $5, updated_at = $6,"
        " answers = coalesce($7, answers)"
        f" WHERE id IN ({marks})",
        status,
        class_id,
        payment_id,
        payment_method,
        checked_in_at,
        now,
        answers,
        *ticket_ids,
    )


_TICKET_COLUMNS = (
    "id",
    "organization_id",
    "event_id",
    "ticket_class_id",
    "contact_id",
    "payment_id",
    "status",
    "barcode",
    "payment_method",
    "checked_in_at",
    "created_at",
    "updated_at",
    "answers",
)


@lru_cache(maxsize=128)
def _insert_sql(count: int) -> str:
    width = len(_TICKET_COLUMNS)
    rows = ", ".join(
        "(" + ", ".join(f"${row * width + col + 1}" for col in range(width)) + ")"
        for row in range(count)
    )
    return f"INSERT INTO tickets ({', '.join(_TICKET_COLUMNS)}) VALUES {rows}"


async def insert_many(conn: Connection, tickets: Sequence[dict[str, Any]]) -> None:
    """All new tickets of a request in one statement, deferred (see ``Connection.defer``):
    nothing reads them in the transaction that makes them."""
    args = [ticket[column] for ticket in tickets for column in _TICKET_COLUMNS]
    await conn.defer(_insert_sql(len(tickets)), *args)


async def get(
    conn: Connection, organization_id: str, event_id: str, ticket_id: str, *, lock: bool = False
) -> Row | None:
    suffix = " FOR UPDATE OF t" if lock and conn.dialect == "postgresql" else ""
    return await conn.fetchrow(
        f"{_SELECT} WHERE t.organization_id = $1 AND t.event_id = $2 AND t.id = $3{suffix}",
        organization_id,
        event_id,
        ticket_id,
    )


async def get_by_barcode(
    conn: Connection, organization_id: str, event_id: str, barcode: str, *, lock: bool = False
) -> Row | None:
    suffix = " FOR UPDATE OF t" if lock and conn.dialect == "postgresql" else ""
    return await conn.fetchrow(
        f"{_SELECT} WHERE t.barcode = $3 AND t.organization_id = $1 AND t.event_id = $2{suffix}",
        organization_id,
        event_id,
        barcode,
    )


async def set_status(
    conn: Connection, ticket_id: str, status: str, checked_in_at: int | None, now: int
) -> None:
    await conn.execute(
        "UPDATE tickets SET status = $2, checked_in_at = $3, updated_at = $4 WHERE id = $1",
        ticket_id,
        status,
        checked_in_at,
        now,
    )


async def event_seats_taken(conn: Connection, organization_id: str, event_id: str) -> int | None:
    """The event's seat counter (valid and checked-in tickets), or None if there is no event."""
    row = await conn.fetchrow(
        "SELECT tickets_sold FROM events WHERE organization_id = $1 AND id = $2",
        organization_id,
        event_id,
    )
    return None if row is None else int(row[0])


async def event_exists(conn: Connection, organization_id: str, event_id: str) -> bool:
    row = await conn.fetchrow(
        "SELECT 1 FROM events WHERE organization_id = $1 AND id = $2", organization_id, event_id
    )
    return row is not None


# Orders a page may be sorted in. Creation order (either way) walks the (event, created_at, id)
# index and stops after a page; by name sorts the event's matching tickets first.
ORDERS = {
    "created": "t.created_at, t.id",
    "-created": "t.created_at DESC, t.id DESC",
    "name": "lower(coalesce(c.last_name, '')), lower(coalesce(c.first_name, '')), t.id",
}

# A listed attendee's columns, in the order presenter.present_listed reads them by position
# (a page of 50 presented by column name spent a third of its time finding the names).
LISTED = (
    "t.id, t.status, t.ticket_class_id, tc.name, t.barcode, c.first_name, c.last_name, c.email,"
    " t.payment_id, t.payment_method, t.checked_in_at, t.created_at, t.updated_at, t.answers"
)
_JOINED = (
    " JOIN contacts c ON c.id = t.contact_id JOIN ticket_classes tc ON tc.id = t.ticket_class_id"
)


async def list_page(
    conn: Connection,
    organization_id: str,
    event_id: str,
    *,
    statuses: Sequence[str],
    email: str | None,
    ticket_class_id: str | None,
    query: str | None,
    updated_since: int | None,
    limit: int,
    offset: int,
    known_total: int | None = None,
    order: str = "created",
    count: bool = True,
) -> tuple[list[Row], int]:
    """One page of :data:`LISTED` rows, and the total (counted unless the caller knows it).

    In creation order, the page walks the (event, created_at, id) index in order and stops after
    offset + limit matches. When no filter reads the contact, the tickets of the page are found
    first and only those are joined to their contact and class: the rows the offset skips are
    never joined (page 3 joined 150 rows for 50; page 100, 5,000 for 50).
    """
    args: list[Any] = [organization_id, event_id]

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    where = ["t.organization_id = $1", "t.event_id = $2"]
    where.append(f"t.status IN ({', '.join(arg(s) for s in statuses)})")
    if email is not None:
        where.append(f"c.email = {arg(email)}")
    if ticket_class_id is not None:
        where.append(f"t.ticket_class_id = {arg(ticket_class_id)}")
    if query is not None:
        pattern = arg(
            "%" + query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        where.append(
            f"(lower(c.email) LIKE {pattern} ESCAPE '\\' OR lower(coalesce(c.first_name, ''))"
            f" LIKE {pattern} ESCAPE '\\' OR lower(coalesce(c.last_name, '')) LIKE {pattern}"
            " ESCAPE '\\')"
        )
    if updated_since is not None:
        where.append(f"t.updated_at >= {arg(updated_since)}")
    clause = " AND ".join(where)
    needs_contact = email is not None or query is not None
    count_from = (
        "tickets t JOIN contacts c ON c.id = t.contact_id" if needs_contact else "tickets t"
    )
    total = known_total
    if total is None and not count:
        total = -1  # the caller does not need it (a dense search)
    if total is None:
        total = await conn.fetchval(f"SELECT count(*) FROM {count_from} WHERE {clause}", *args)
    window = f" ORDER BY {ORDERS[order]} LIMIT {arg(limit)} OFFSET {arg(offset)}"
    if needs_contact or order == "name":
        sql = f"SELECT {LISTED} FROM tickets t{_JOINED} WHERE {clause}{window}"
    else:
        sql = (
            f"SELECT {LISTED} FROM (SELECT * FROM tickets t WHERE {clause}{window}) t{_JOINED}"
            f" ORDER BY {ORDERS[order]}"
        )
    rows = await conn.fetch(sql, *args)
    return rows, int(total)


async def class_is_active(conn: Connection, class_id: str) -> bool:
    row = await conn.fetchrow(
        "SELECT 1 FROM ticket_classes WHERE id = $1 AND status = 'active'", class_id
    )
    return row is not None


async def checked_in_counts(
    conn: Connection, organization_id: str, event_ids: Sequence[str]
) -> dict[str, int]:
    """Checked-in tickets per event (the (event, status) index counts them without the rows)."""
    if not event_ids:
        return {}
    marks = ", ".join(f"${i + 2}" for i in range(len(event_ids)))
    rows = await conn.fetch(
        "SELECT event_id, count(*) AS n FROM tickets WHERE organization_id = $1"
        f" AND event_id IN ({marks}) AND status = 'checked_in' GROUP BY event_id",
        organization_id,
        *event_ids,
    )
    return {row["event_id"]: int(row["n"]) for row in rows}


async def get_contact_id(conn: Connection, organization_id: str, ticket_id: str) -> Row | None:
    return await conn.fetchrow(
        "SELECT contact_id FROM tickets WHERE organization_id = $1 AND id = $2",
        organization_id,
        ticket_id,
    )
