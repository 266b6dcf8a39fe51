"""Taking and releasing seats under the capacity rule (SPEC §3.3 step 4)."""

from __future__ import annotations

from tessera import errors
from tessera.attendee import repository
from tessera.db import Connection
from tessera.errors import CapacityExceeded


async def class_full(conn: Connection, class_id: str) -> CapacityExceeded:
    return CapacityExceeded(await repository.class_remaining(conn, class_id), "ticket_class")


async def event_full(conn: Connection, event_id: str) -> CapacityExceeded:
    return CapacityExceeded(await repository.event_remaining(conn, event_id), "event")


async def take_event(conn: Connection, event_id: str, seats: int) -> None:
    """Take ``seats`` in the event, or raise 409 ``capacity_exceeded`` (rolling back the
    class seats the transaction already took)."""
    if not await repository.take_event_seats(conn, event_id, seats):
        raise await event_full(conn, event_id)


async def take(conn: Connection, class_id: str, event_id: str, seats: int) -> None:
    """Take ``seats`` in the class and then the event, or raise.

    A class deleted meanwhile is ``422 ticket_class_deleted``; a full one ``409``.
    """
    if not await repository.take_class_seats(conn, class_id, seats):
        if not await repository.class_is_active(conn, class_id):
            raise errors.Unprocessable(
                "The ticket's class has been deleted; it cannot take a seat",
                code="ticket_class_deleted",
            )
        raise await class_full(conn, class_id)
    await take_event(conn, event_id, seats)
