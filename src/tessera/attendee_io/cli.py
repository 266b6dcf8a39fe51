"""``tessera attendees export|import``: the CSV export and import from the command line.

They run against the database directly (``TESSERA_DATABASE_URL``), as the operator, through
the same code as the API; the event's organization is read from the event. An import runs
under a key made of the event and the file's digest (or ``--key``), exactly as the API's
``Idempotency-Key``: interrupted, the same command resumes it; repeated within 24 hours, it
shows the first run's result and creates nothing.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import sqlite3
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import click

from tessera.attendee_io import export, importer, keyed, upload
from tessera.db import Database, create_database
from tessera.errors import AppError
from tessera.kit import jsonutil
from tessera.kit.clock import system_clock

T = TypeVar("T")
CLI_PRINCIPAL = "cli"  # keys a CLI import's progress and outcome, in place of an API key ID
SHOWN_FAILURES = 20


@click.group()
def attendees() -> None:
    """Attendees in and out of CSV files."""


def _session(main: Callable[[Database], Awaitable[T]]) -> T:
    """Open the database, run ``main``, close it; trouble becomes one sentence on stderr."""
    from tessera.cli import redacted, settings_or_exit

    settings = settings_or_exit()
    where = redacted(settings.database_url)

    async def go() -> T:
        db = create_database(settings.database_url, pool_size=2)
        await db.connect()
        try:
            return await main(db)
        finally:
            await db.close()

    try:
        return asyncio.run(go())
    except AppError as exc:
        if exc.status == 503:
            raise click.ClickException(
                f"cannot reach the database at {where}: check TESSERA_DATABASE_URL, that the "
                "server runs, and run `tessera db upgrade`."
            ) from None
        detail = f" ({jsonutil.dumps(exc.details).decode()})" if exc.details else ""
        raise click.ClickException(f"{exc.message}{detail}") from None
    except (sqlite3.Error, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise click.ClickException(
            f"cannot use the database at {where} ({exc}): check TESSERA_DATABASE_URL and run "
            "`tessera db upgrade`."
        ) from None


async def _organization(db: Database, event_id: str) -> str:
    async with db.reader() as conn:
        row = await conn.fetchrow("SELECT organization_id FROM events WHERE id = $1", event_id)
    if row is None:
        raise click.ClickException(f"there is no event {event_id}: check the event ID.")
    organization_id: str = row["organization_id"]
    return organization_id


@attendees.command("export")
@click.argument("event_id")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, writable=True), help="Default: stdout."
)
@click.option("--status", default=None, help="Comma-separated statuses (default valid,checked_in).")
def export_command(event_id: str, output: str | None, status: str | None) -> None:
    """Write an event's attendees as CSV (the API's export)."""
    from tessera.attendee import filters

    try:
        chosen = filters.parse(status, None, None, None, None)
    except AppError as exc:
        raise click.BadParameter(str(exc.details), param_hint="--status") from None

    async def main(db: Database) -> int:
        organization_id = await _organization(db, event_id)
        async with db.reader() as conn:
            plan = await export.prepare(conn, organization_id, event_id, chosen)

        async def read(work: Any) -> Any:
            async with db.reader() as conn:
                return await work(conn)

        rows = -1
        sink = open(output, "wb") if output else sys.stdout.buffer  # noqa: SIM115
        try:
            async for chunk in export.stream(read, plan):
                sink.write(chunk)
                rows += chunk.count(b"\r\n")  # records, less the header (quoted CRLFs aside)
        finally:
            if output:
                sink.close()
            else:
                sink.flush()
        return rows

    rows = _session(main)
    if output:
        click.echo(f"exported {rows} attendees of {event_id} to {output}", err=True)


@attendees.command("import")
@click.argument("event_id")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--dry-run", is_flag=True, help="Check every row; write nothing.")
@click.option(
    "--key",
    default=None,
    help="Idempotency key (default: one made of the event and the file's digest).",
)
def import_command(event_id: str, file: str, dry_run: bool, key: str | None) -> None:
    """Import attendees from a CSV file: each row is one Create Attendee.

    Shows a progress bar, then a summary; failed rows are written beside FILE as
    NAME.failed.csv (the original columns and an import_error column), ready to fix and
    import again."""
    path = Path(file)
    raw = path.read_bytes()

    async def main(db: Database) -> dict[str, Any]:
        organization_id = await _organization(db, event_id)
        async with db.reader() as conn:
            event = await importer.read_event(conn, organization_id, event_id)
        parsed = importer.parse(raw, event)  # a bad file stops here, before the bar
        label = "Checking" if dry_run else "Importing"
        with click.progressbar(length=len(parsed.rows), label=label, file=sys.stderr) as bar:
            shown = [0]

            def progress(done: int, total: int) -> None:
                bar.update(done - shown[0])
                shown[0] = done

            if dry_run:
                return await importer.run_rows(
                    db,
                    system_clock,
                    organization_id,
                    event_id,
                    parsed,
                    event,
                    dry_run=True,
                    on_progress=progress,
                )
            digest = hashlib.sha256(raw).hexdigest()
            idempotency = keyed.Key(
                CLI_PRINCIPAL,
                key or f"cli-{event_id}-{digest[:32]}",
                jsonutil.fingerprint("POST", f"cli:{event_id}", {"sha256": digest}),
            )
            answer = await keyed.run(
                db, system_clock, organization_id, event_id, raw, idempotency, on_progress=progress
            )
            result: dict[str, Any] = jsonutil.loads(answer.body)
            if answer.status != 200:
                raise click.ClickException(str(result.get("error")))
            if answer.replayed:
                click.echo(
                    "this file was imported already (within 24 hours): its result follows, and "
                    "nothing new was created (pass --key to import it again)",
                    err=True,
                )
            return result

    result = _session(main)
    _summary(result, dry_run)
    failures = [r for r in result["results"] if r["status"] == "failed"]
    if failures:
        written = _write_failures(path, raw, failures)
        click.echo(f"failed rows written to {written}: fix them and import that file", err=True)
        sys.exit(1 if not dry_run else 0)


def _summary(result: dict[str, Any], dry_run: bool) -> None:
    verb = "would be created" if dry_run else "created"
    click.echo(f"{'rows':<10}{result['rows']:>8}")
    click.echo(f"{verb:<10}{result['created']:>8}" if not dry_run else f"ok{result['created']:>16}")
    click.echo(f"{'failed':<10}{result['failed']:>8}")
    failures = [r for r in result["results"] if r["status"] == "failed"]
    if failures:
        click.echo("")
        click.echo(f"{'row':>6}  {'code':<22}error")
        for failure in failures[:SHOWN_FAILURES]:
            click.echo(f"{failure['row']:>6}  {failure['code']:<22}{_reason(failure)}")
        if len(failures) > SHOWN_FAILURES:
            click.echo(f"… and {len(failures) - SHOWN_FAILURES} more")


def _reason(failure: dict[str, Any]) -> str:
    """A failed row's error, with the fields at fault when it is a validation error."""
    fields = (failure.get("details") or {}).get("fieldErrors") or {}
    named = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in fields.items())
    return f"{failure['error']} ({named})" if named else str(failure["error"])


def _write_failures(path: Path, raw: bytes, failures: list[dict[str, Any]]) -> Path:
    """The failed rows as they were in the file, with an ``import_error`` column."""
    reasons = {f["row"]: f"{f['code']}: {_reason(f)}" for f in failures}
    reader = csv.reader(io.StringIO(upload.decode(raw), newline=""))
    header = next(reader)
    target = path.with_name(f"{path.stem}.failed.csv")
    with target.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow([*header, "import_error"])
        for number, cells in enumerate(reader, start=2):
            if number in reasons:
                padded = cells + [""] * (len(header) - len(cells))
                writer.writerow([*padded[: len(header)], reasons[number]])
    return target
