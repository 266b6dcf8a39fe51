"""Event times: an instant, or a wall-clock time in an IANA timezone, to UTC microseconds."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tessera.kit.clock import check_range, from_datetime

# Files in the zoneinfo directory that are not IANA zone names: ``localtime`` is whatever the
# server's own zone happens to be, which no client can interpret.
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """The IANA zone; ValueError for an unknown name."""
    if (
        not name
        or name != name.strip()
        or ".." in name
        or name.startswith("/")
        or name in _NOT_ZONES
    ):
        raise ValueError(f"unknown IANA timezone {name!r}, e.g. America/New_York")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown IANA timezone {name!r}, e.g. America/New_York") from None


def to_utc_micros(value: str, timezone: str) -> int:
    """``2027-07-15T18:00`` in ``America/New_York`` → the instant 22:00Z.

    A value that carries an offset (``Z``, ``+02:00``) is already an instant.
    """
    tz = zone(timezone)
    try:
        moment = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise ValueError("must be an ISO-8601 date-time, e.g. 2027-07-15T18:00") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return check_range(from_datetime(moment))
