"""`tessera attendees export|import` (SPEC §10), run as a real process on a real database."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from tests.test_cli import ok, tessera


@pytest.fixture
def demo(tmp_path: Path) -> tuple[str, str]:
    """A migrated SQLite database with `tessera demo`'s event (capacity 100); (url, event)."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    ok(tessera("db", "upgrade", database_url=url, cwd=tmp_path))
    output = ok(tessera("demo", database_url=url, cwd=tmp_path))
    event = re.search(r"^event:\s+(\w{20})", output, re.M)
    assert event, output
    return url, event.group(1)


def test_import_shows_a_summary_writes_failures_and_resumes_safely(
    demo: tuple[str, str], tmp_path: Path
) -> None:
    url, event_id = demo
    source = tmp_path / "guests.csv"
    source.write_text(
        "Email,First Name,Ticket Class Name\n"
        "ann@example.com,Ann,General Admission\n"
        "not-an-email,Bob,General Admission\n"
        "cid@example.com,Cid,Balcony\n",
        encoding="utf-8",
    )
    dry = tessera(
        "attendees", "import", event_id, str(source), "--dry-run", database_url=url, cwd=tmp_path
    )
    assert dry.returncode == 0, dry.stderr
    assert re.search(r"rows\s+3", dry.stdout) and re.search(r"failed\s+2", dry.stdout)
    exported = ok(tessera("attendees", "export", event_id, database_url=url, cwd=tmp_path))
    assert len(list(csv.reader(io.StringIO(exported)))) == 1  # the dry run wrote nothing

    first = tessera("attendees", "import", event_id, str(source), database_url=url, cwd=tmp_path)
    assert first.returncode == 1  # some rows failed
    assert re.search(r"created\s+1", first.stdout), first.stdout
    assert "contact.email" in first.stdout and "Ticket class not found" in first.stdout
    assert "Importing" in first.stderr
    failed = list(csv.reader((tmp_path / "guests.failed.csv").open(encoding="utf-8")))
    assert failed[0] == ["Email", "First Name", "Ticket Class Name", "import_error"]
    assert [row[0] for row in failed[1:]] == ["not-an-email", "cid@example.com"]
    assert failed[2][3].startswith("not_found: Ticket class not found")

    again = tessera("attendees", "import", event_id, str(source), database_url=url, cwd=tmp_path)
    assert "imported already" in again.stderr
    target = tmp_path / "out.csv"
    ok(
        tessera(
            "attendees", "export", event_id, "--output", str(target), database_url=url, cwd=tmp_path
        )
    )
    rows = list(csv.reader(target.open(encoding="utf-8", newline="")))
    assert [row[6] for row in rows[1:]] == ["ann@example.com"]  # once, not twice


def test_bad_file_and_unknown_event_say_what_is_wrong(
    demo: tuple[str, str], tmp_path: Path
) -> None:
    url, event_id = demo
    bad = tmp_path / "bad.csv"
    bad.write_bytes("email,ticket_class_id\nzoë@example.com,x\n".encode("latin-1"))
    done = tessera("attendees", "import", event_id, str(bad), database_url=url, cwd=tmp_path)
    assert done.returncode != 0 and "not UTF-8" in done.stderr
    done = tessera("attendees", "export", "nope", database_url=url, cwd=tmp_path)
    assert done.returncode != 0 and "no event nope" in done.stderr
