"""The API's one timestamp format, from stored microseconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tessera.kit import clock

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FIRST = clock.from_datetime(datetime(1, 1, 1, tzinfo=UTC))
_LAST = clock.from_datetime(datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC))


@given(st.integers(min_value=_FIRST, max_value=_LAST))
def test_iso_shows_milliseconds_truncated_with_z(micros: int) -> None:
    moment = _EPOCH + timedelta(microseconds=micros)
    expected = (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:"
        f"{moment.minute:02d}:{moment.second:02d}.{moment.microsecond // 1000:03d}Z"
    )
    assert clock.iso(micros) == expected
    assert clock.parse_instant(expected) == micros - micros % 1000


def test_iso_of_nothing_is_nothing() -> None:
    assert clock.iso(None) is None
    assert clock.iso(0) == "1970-01-01T00:00:00.000Z"
    assert clock.iso(-1) == "1969-12-31T23:59:59.999Z"
