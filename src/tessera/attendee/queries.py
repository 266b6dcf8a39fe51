"""Reading attendees: one by ID, or a filtered page of an event's attendees."""

from __future__ import annotations

from typing import Any

from tessera import errors
from tessera.attendee import history, repository, search
from tessera.attendee.presenter import present, present_listed
from tessera.db import Connection
from tessera.kit.pagination import Page, envelope


async def get_attendee(
    conn: Connection, organization_id: str, event_id: str, ticket_id: str
) -> dict[str, Any]:
    if not await repository.event_exists(conn, organization_id, event_id):
        raise errors.event_not_found()
    row = await repository.get(conn, organization_id, event_id, ticket_id)
    if row is None:
        raise errors.attendee_not_found()
    return present(row)


async def list_attendees(
    conn: Connection,
    organization_id: str,
    event_id: str,
    page: Page,
    *,
    statuses: list[str],
    email: str | None = None,
    ticket_class_id: str | None = None,
    query: str | None = None,
    updated_since: int | None = None,
    order: str = "created",
) -> dict[str, Any]:
    seats_taken = await repository.event_seats_taken(conn, organization_id, event_id)
    if seats_taken is None:
        raise errors.event_not_found()
    # The default list (valid and checked-in, no other filter) is exactly the seat holders, whose
    # number the event's counter keeps in every transaction that changes a ticket: no need to
    # count 100,000 index entries on every page.
    is_seat_list = set(statuses) == repository.SEAT_STATUSES and not (
        email or ticket_class_id or query or updated_since is not None
    )
    rows, total = await repository.list_page(
        conn,
        organization_id,
        event_id,
        statuses=statuses,
        email=email,
        ticket_class_id=ticket_class_id,
        query=query,
        updated_since=updated_since,
        limit=page.page_size,
        offset=page.offset,
        known_total=seats_taken if is_seat_list else None,
        order=order,
    )
    return envelope([present_listed(row) for row in rows], total, page)


async def checked_in_counts(
    conn: Connection, organization_id: str, event_ids: list[str]
) -> dict[str, int]:
    """How many tickets of each event are checked in (events of other organizations: none)."""
    return await repository.checked_in_counts(conn, organization_id, event_ids)


async def get_attendee_with_history(
    conn: Connection, organization_id: str, event_id: str, ticket_id: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The attendee and its status history, issued first (see :mod:`attendee.history`)."""
    if not await repository.event_exists(conn, organization_id, event_id):
        raise errors.event_not_found()
    row = await repository.get(conn, organization_id, event_id, ticket_id)
    if row is None:
        raise errors.attendee_not_found()
    changes = await history.of_ticket(conn, organization_id, ticket_id)
    return present(row), history.timeline(row, changes)


async def contact_of(conn: Connection, organization_id: str, ticket_id: str) -> str:
    """The contact a ticket belongs to (for its confirmation email)."""
    row = await repository.get_contact_id(conn, organization_id, ticket_id)
    if row is None:
        raise errors.attendee_not_found()
    return str(row["contact_id"])


async def get_attendee_by_barcode(
    conn: Connection, organization_id: str, event_id: str, barcode: str
) -> dict[str, Any] | None:
    row = await repository.get_by_barcode(conn, organization_id, event_id, barcode)
    return None if row is None else present(row)


async def search_attendees(
    conn: Connection,
    organization_id: str,
    event_id: str,
    page: Page,
    *,
    statuses: list[str],
    query: str,
    ticket_class_id: str | None = None,
    order: str = "created",
) -> dict[str, Any]:
    """A page of the event's attendees whose name or email contains ``query``, fast on large
    events (see :mod:`tessera.attendee.search`). ``pagination.total`` is None when more than
    a thousand contacts match: the page is exact, the total is not counted."""
    if not await repository.event_exists(conn, organization_id, event_id):
        raise errors.event_not_found()
    contact_ids = await search.matching_contacts(conn, organization_id, query)
    if contact_ids is None:
        rows, _ = await repository.list_page(
            conn,
            organization_id,
            event_id,
            statuses=statuses,
            email=None,
            ticket_class_id=ticket_class_id,
            query=query,
            updated_since=None,
            limit=page.page_size + 1,
            offset=page.offset,
            order=order,
            count=False,
        )
        more = len(rows) > page.page_size
        rows = rows[: page.page_size]
        return {
            "data": [present_listed(row) for row in rows],
            "pagination": {
                "total": None,
                "page": page.page,
                "page_size": page.page_size,
                "total_pages": page.page + 1 if more else page.page,
            },
        }
    rows, total = await search.page_of_contacts(
        conn,
        organization_id,
        event_id,
        contact_ids,
        statuses=statuses,
        ticket_class_id=ticket_class_id,
        limit=page.page_size,
        offset=page.offset,
        order=order,
    )
    return envelope([present_listed(row) for row in rows], total, page)
