"""The SQLite floor replays a create's recorded statements with fresh values (bench/floor.py)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from bench import floor


def test_text_arguments_that_differ_between_two_creates_are_refreshed() -> None:
    first = [
        ("SELECT 1 FROM api_keys WHERE key_hash = $1", ("hash",), False),
        (
            "INSERT INTO tickets (id, event_id, created_at) VALUES ($1, $2, $3)",
            ("t1", "e", 5),
            True,
        ),
    ]
    second = [
        ("SELECT 1 FROM api_keys WHERE key_hash = $1", ("hash",), False),
        (
            "INSERT INTO tickets (id, event_id, created_at) VALUES ($1, $2, $3)",
            ("t2", "e", 6),
            True,
        ),
    ]
    steps = floor.steps_of(first, second)
    assert [s.fresh for s in steps] == [(False,), (True, False, False)]  # an int is kept as is
    assert steps[1].sql.endswith("VALUES (?1, ?2, ?3)")
    assert [s.in_transaction for s in steps] == [False, True]


def test_creates_of_different_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="different statements"):
        floor.steps_of([("SELECT 1", (), False)], [("SELECT 2", (), False)])


def test_replays_write_new_rows_inside_one_transaction_each(tmp_path: Path) -> None:
    path = tmp_path / "floor.db"
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER)")
    recorded = [
        [("SELECT count(*) FROM t WHERE id = $1", ("a",), False)],
        [("SELECT count(*) FROM t WHERE id = $1", ("b",), False)],
    ]
    inserts = [("INSERT INTO t (id, n) VALUES ($1, $2)", (key, 1), True) for key in ("a", "b")]
    steps = floor.steps_of(recorded[0] + [inserts[0]], recorded[1] + [inserts[1]])
    measured = floor.measure(str(path), steps, creates=30, warmup=3)
    assert measured.creates == 30 and measured.cpu_us > 0
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT count(*) FROM t").fetchone()[0] == 33  # unique IDs each time


def test_only_indexes_that_serve_reads_are_dropped(sqlite_template: Path, tmp_path: Path) -> None:
    path = tmp_path / "schema.db"
    shutil.copy(sqlite_template, path)
    dropped = floor.drop_read_only_indexes(str(path))
    assert "ix_tickets_event_created" in dropped
    with sqlite3.connect(path) as raw:
        left = {row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "uq_ticket_classes_active_name" in left  # a rule (unique active names) stays
    assert any(name.startswith("sqlite_autoindex_tickets") for name in left)  # keys stay
    assert not left & set(dropped)


def test_cpu_budget_names_each_process_beside_what_the_goal_leaves() -> None:
    from bench import processes, report

    pids = processes.postgres_pids()  # PostgreSQL runs on every machine of this project
    assert pids and processes.cpu_seconds(pids) > 0
    result = report.Result("create-spread", "postgresql", 2, cpu_us_per_request=1000.0)
    result.database_cpu_us_per_request, result.load_cpu_us_per_request = 900.0, 50.0
    line = report.cpu_budget(result, 2_000)
    assert "Tessera 1,000 + PostgreSQL 900 + wrk 50 = 1,950" in line
    assert "at the goal's 2,000 req/s" in line
