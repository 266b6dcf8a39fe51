"""How long and how big a run is: the full run, the quick one, and the seconds-long smoke run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Profile:
    name: str
    duration: int  # seconds of measured load per scenario
    warmup: int
    attendees: int  # population of the big event (and of contacts, payments)
    stored_keys: int
    connections: int = 32
    floor_creates: int = 5_000  # replays of a create's statements for the SQLite floor
    py_spy_dir: Path | None = None  # --profile: py-spy samples of each serving process
    sqlite_processes: int = 1  # --sqlite-processes: SQLite's server processes


PROFILES = {
    "full": Profile("full", duration=20, warmup=5, attendees=100_000, stored_keys=100_000),
    "quick": Profile("quick", duration=6, warmup=2, attendees=100_000, stored_keys=100_000),
    "smoke": Profile(
        "smoke",
        duration=1,
        warmup=0,
        attendees=500,
        stored_keys=500,
        connections=4,
        floor_creates=100,
    ),
}
