"""Taking and releasing seats under the capacity rule (SPEC §3.3 step 4)."""

from __future__ import annotations

from tessera.attendee import repository
from tessera.db import Connection
from tessera.errors import CapacityExceeded


async def take(conn: Connection, class_id: str, event_id: str, seats: int, now: int) -> None:
    """Take ``seats`` in the class and then the event, or raise 409 ``capacity_exceeded``.

    Raising rolls the whole transaction back, including a class seat already taken here.
    """
    if not await repository.take_class_seats(conn, class_id, seats, now):
        remaining = await repository.class_remaining(conn, class_id)
        raise CapacityExceeded(remaining, "ticket_class")
    if not await repository.take_event_seats(conn, event_id, seats):
        remaining = await repository.event_remaining(conn, event_id)
        raise CapacityExceeded(remaining, "event")
