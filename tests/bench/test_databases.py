"""bench/databases.py: what the servers of each database are given."""

from __future__ import annotations

from pathlib import Path

from bench.databases import server_environment


def test_each_database_writes_its_emails_to_a_directory_of_its_own(tmp_path: Path) -> None:
    """Emails are named by their outbox row's ID, which each database counts from 1: sharing a
    directory, PostgreSQL's first email replaced SQLite's under a name already seen, and make
    bench's PostgreSQL delivery waited for it in vain."""
    sqlite = server_environment(f"sqlite:///{tmp_path}/bench.db", tmp_path)
    postgres = server_environment("postgresql://postgres@127.0.0.1:5432/x", tmp_path)
    assert sqlite["TESSERA_MAIL_DIR"] != postgres["TESSERA_MAIL_DIR"]
    assert Path(sqlite["TESSERA_MAIL_DIR"]).parent == tmp_path
