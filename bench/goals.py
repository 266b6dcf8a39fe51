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

# The scenario modules' goals (issues 16 to 19). A rate of 0: the goal is not a rate, or (the
# public form) a share of a rate the same run measures; the module sets it then.
EXPORT = Goal("≥ 50,000 rows/s, server RSS growth ≤ 20 MB (100,000 attendees)", 50_000)
IMPORT = Goal("10,000 rows ≤ 10 s, 0 duplicates", 1_000)
PUBLIC_REGISTER = Goal("≥ 40 % of the API's create in the same run, p99 ≤ 250 ms, 0 errors", 0)
EVENT_PAGE = Goal("≥ 1,000 req/s", 1_000)
DASHBOARD_ATTENDEES = Goal("p95 ≤ 100 ms (server time), event of 100,000", 0)
DOOR_SCAN = Goal("p95 ≤ 150 ms with 4 scanners", 0)
DELIVERY = Goal("median < 1 s from the 201 to the .eml, idle server", 0)
