"""Time as integer microseconds since the Unix epoch (UTC), the storage format of every ``*_at``
column, and its conversion to the API's ISO-8601 form at the edges.

Integers compare, index and travel identically through SQLite and PostgreSQL drivers, and cost
nothing to bind; the API always shows milliseconds with ``Z``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import lru_cache

Clock = Callable[[], int]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def system_clock() -> int:
    return time.time_ns() // 1000


def to_datetime(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


def from_datetime(value: datetime) -> int:
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


# ".000Z" to ".999Z": a page of attendees formats 150 timestamps, and looking the milliseconds
# up measured a third of formatting them each time.
_MILLIS = tuple(f".{millis:03d}Z" for millis in range(1000))


def iso(micros: int | None) -> str | None:
    """``2026-05-26T12:00:00.000Z`` — the one timestamp format of the API."""
    if micros is None:
        return None
    return _iso_seconds(micros // 1_000_000) + _MILLIS[micros % 1_000_000 // 1000]


@lru_cache(maxsize=4096)
def _iso_seconds(seconds: int) -> str:
    # Cached: a page of attendees shows a few distinct seconds many times (150 per page).
    # Not strftime("%Y"): it drops the leading zeros of years before 1000 on glibc.
    moment = _EPOCH + timedelta(seconds=seconds)
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:"
        f"{moment.minute:02d}:{moment.second:02d}"
    )


def check_range(micros: int) -> int:
    """An instant the API can show (years 1 to 9999 in UTC); ValueError otherwise."""
    try:
        to_datetime(micros)
    except OverflowError:
        raise ValueError("is out of range: years 0001 to 9999 (UTC)") from None
    return micros


def parse_instant(text: str) -> int:
    """An ISO-8601 instant that carries its offset (``Z`` or ``+02:00``)."""
    try:
        value = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise ValueError("must be an ISO-8601 instant, e.g. 2026-05-26T12:00:00Z") from None
    if value.tzinfo is None:
        raise ValueError("needs a UTC offset, e.g. 2026-05-26T12:00:00Z")
    return check_range(from_datetime(value))
