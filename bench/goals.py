"""The goals the benchmark is read against, as the issues state them and as rates.

The rate is what the CPU budget lines divide by: at the goal's rate, what the machine's cores
leave for each request.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Goal:
    text: str  # as the issue states it; RESULTS.md's last column
    rate: int  # req/s


SQLITE_CREATE = Goal("≥ 2,500 req/s, p99 ≤ 30 ms, 0 errors", 2_500)
POSTGRESQL_CREATE_SPREAD = Goal("≥ 2,000 req/s, p99 ≤ 50 ms", 2_000)
POSTGRESQL_CREATE_HOT = Goal("≥ 1,000 req/s, p99 ≤ 100 ms", 1_000)
SQLITE_REPLAY = Goal("≥ 4,000 req/s", 4_000)
SQLITE_LIST = Goal("≥ 1,500 req/s, p99 ≤ 50 ms", 1_500)
