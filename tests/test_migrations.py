"""Migrations and models agree (STYLE: CI checks it), on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import create_async_engine

from tessera import migrate
from tessera.models import metadata


def _diff(connection: sa.Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def test_sqlite_schema_matches_the_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    migrate.upgrade(url)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            assert _diff(connection) == []
    finally:
        engine.dispose()


def test_postgresql_schema_matches_the_models(pg_url: str) -> None:
    async def diff() -> list[Any]:
        engine = create_async_engine(pg_url.replace("postgresql://", "postgresql+asyncpg://", 1))
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(_diff)
        finally:
            await engine.dispose()

    assert asyncio.run(diff()) == []


def test_upgrade_is_idempotent_and_reaches_head(tmp_path: Path) -> None:
    path = tmp_path / "twice.db"
    migrate.upgrade(f"sqlite:///{path}")
    migrate.upgrade(f"sqlite:///{path}")
    assert migrate.current_revision_sqlite(str(path)) == migrate.head_revision()


def test_downgrade_to_base_and_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'roundtrip.db'}"
    config = migrate.alembic_config(url)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    with sqlite3.connect(tmp_path / "roundtrip.db") as raw:
        tables = {
            row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
    assert tables <= {"alembic_version"}
    command.upgrade(config, "head")
    assert (
        migrate.current_revision_sqlite(str(tmp_path / "roundtrip.db")) == migrate.head_revision()
    )


def test_one_head_and_dated_file_names() -> None:
    scripts = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    assert len(scripts.get_heads()) == 1
    for path in (migrate.MIGRATIONS / "versions").glob("*.py"):
        assert re.match(r"^\d{4}-\d\d-\d\d-\d{4}_[a-z0-9_]+\.py$", path.name), path.name


def test_percent_encoded_password_survives_the_alembic_config() -> None:
    from tessera.migrate import alembic_config

    url = "postgresql://user:p%40ss@127.0.0.1:5432/db"
    assert alembic_config(url).get_main_option("sqlalchemy.url") == url
