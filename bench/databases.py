"""The database a run measures against: made fresh (a SQLite file or a new PostgreSQL database),
migrated and given an organization and key with the CLI as a user would, populated, checked
(seat counters equal ticket rows) and dropped."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

from bench.populate import Population, populate
from bench.processes import TESSERA
from bench.report import log
from tessera.db import create_database

PG_ADMIN = os.environ.get(
    "TESSERA_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def fresh_database(kind: str, workdir: Path) -> str:
    """A database URL nothing has used: ``kind`` is ``sqlite`` or ``postgresql``."""
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'bench.db'}"
    import asyncpg

    name = f"tessera_bench_{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        conn = await asyncpg.connect(PG_ADMIN)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def drop_database(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    import asyncpg

    async def drop() -> None:
        conn = await asyncpg.connect(PG_ADMIN)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


def server_environment(url: str, workdir: Path) -> dict[str, str]:
    """The servers' settings: as shipped, but for the access log, rate limits and Redis."""
    env = {
        **os.environ,
        "TESSERA_DATABASE_URL": url,
        "TESSERA_ACCESS_LOG": "false",
        "TESSERA_RATE_LIMIT_PER_MINUTE": "0",
        # One directory per database: emails are named by their outbox row's ID, which each
        # database counts from 1, so a second database's emails would replace the first's
        # under names already seen (make bench's PostgreSQL delivery waited for them in vain).
        "TESSERA_MAIL_DIR": str(workdir / f"mail-{url.split(':', 1)[0]}"),
    }
    env.pop("TESSERA_REDIS_URL", None)
    return env


def cli(env: dict[str, str], *args: str) -> dict[str, Any]:
    """``tessera ARGS --json`` against the bench database; its parsed output."""
    out = subprocess.run(
        [str(TESSERA), *args, "--json"], env=env, capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"tessera {' '.join(args)} failed: {out.stderr.strip()}")
    data: dict[str, Any] = json.loads(out.stdout)
    return data


def migrated_with_key(env: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """Migrate the database and make an organization and an API key with the CLI, as a user
    would; returns the organization's ID and the key (with its secret)."""
    subprocess.run([str(TESSERA), "db", "upgrade"], env=env, check=True, capture_output=True)
    org = cli(env, "orgs", "create", "Bench")["id"]
    return org, cli(env, "keys", "create", "--org", org, "--name", "bench")


def populated(
    url: str, org: str, key_id: str, attendees: int, stored_keys: int, spread: int
) -> Population:
    """bench/populate.py's rows, written before any load."""

    async def fill() -> Population:
        db = create_database(url, pool_size=2)
        await db.connect()
        try:
            return await populate(
                db,
                org,
                key_id,
                attendees=attendees,
                spread=spread,
                stored_keys=stored_keys,
                progress=log,
            )
        finally:
            await db.close()

    return asyncio.run(fill())


def counters_match(url: str) -> bool:
    """Seat counters equal seat-holding ticket rows, for every class and event."""

    async def check() -> bool:
        db = create_database(url, pool_size=1)
        await db.connect()
        try:
            async with db.reader() as conn:
                bad_classes = await conn.fetchval(
                    "SELECT count(*) FROM ticket_classes tc WHERE tc.quantity_sold <> ("
                    "SELECT count(*) FROM tickets t WHERE t.ticket_class_id = tc.id"
                    " AND t.status IN ('valid', 'checked_in'))"
                )
                bad_events = await conn.fetchval(
                    "SELECT count(*) FROM events e WHERE e.tickets_sold <> (SELECT count(*)"
                    " FROM tickets t WHERE t.event_id = e.id"
                    " AND t.status IN ('valid', 'checked_in'))"
                )
        finally:
            await db.close()
        return int(bad_classes) == 0 and int(bad_events) == 0

    return asyncio.run(check())
