"""The attendee import (SPEC §10): each row of a CSV file is one Create Attendee.

Each row runs in its own transaction through the very service of Create Attendee
(:func:`tessera.attendee.create.create_attendees`: contact upsert, invited upgrade, capacity,
email, webhooks), so a row is either fully created or absent, and a row that fails (a bad
value, a full class) fails alone with the error and code that create would answer. Rows run in
file order, one at a time, so a class that fills up half-way fails the later rows.

A **dry run** runs every row the same way and rolls each back. So that the rows after the
first still see the seats the earlier ones would have taken, each row's transaction first
re-applies the seats the dry run has taken so far (measured on the class and event counters,
under the rows' locks), then rolls everything back: nothing is written, and the capacity
verdicts are the ones a real import would get at that moment.

With an ``Idempotency-Key`` (see :mod:`tessera.attendee_io.keyed`) each created row's result is
recorded in the row's own transaction, so an import cut short by a crash resumes where it
stopped: finished rows are replayed, the others execute.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tessera import errors
from tessera.attendee import create
from tessera.attendee import repository as attendees
from tessera.attendee_io import jobs, rows, upload
from tessera.attendee_io.columns import fold
from tessera.db import Connection, Database, IntegrityViolation, OneStatement, Stale
from tessera.kit.clock import Clock
from tessera.question import repository as question_rows
from tessera.question import service as questions
from tessera.ticket_class import repository as classes

Progress = Callable[[int, int], None]  # (rows done, rows in the file)


@dataclass(slots=True)
class Job:
    """A keyed import: its ID, the lease it holds, and the rows finished before."""

    id: str
    owner: str
    finished: dict[int, dict[str, Any]] = field(default_factory=dict)


class LostLease(Exception):
    """Another request took this import over (this one stalled past its lease)."""


async def read_event(conn: Connection, organization_id: str, event_id: str) -> rows.EventShape:
    """The event's active classes and live questions (404 when there is no such event)."""
    if not await attendees.event_exists(conn, organization_id, event_id):
        raise errors.event_not_found()
    active = await classes.list_active(conn, organization_id, event_id)
    live = await question_rows.live(conn, organization_id, event_id)
    return rows.shape(
        [{"id": r["id"], "name": r["name"]} for r in active],
        [questions.present(r) for r in live],
    )


def parse(raw: bytes, event: rows.EventShape) -> upload.Upload:
    """The file, its question columns matched to the event's live questions by label."""
    return upload.parse(raw, {fold(q["label"]): q["id"] for q in event.questions})


async def run(
    db: Database,
    clock: Clock,
    organization_id: str,
    event_id: str,
    raw: bytes,
    *,
    dry_run: bool = False,
) -> dict[str, Any]:
    """An import without an Idempotency-Key (or a dry run): read the event, the file, run."""
    async with db.reader() as conn:
        event = await read_event(conn, organization_id, event_id)
    parsed = parse(raw, event)
    return await run_rows(db, clock, organization_id, event_id, parsed, event, dry_run=dry_run)


def failed(number: int, error: errors.AppError) -> dict[str, Any]:
    result: dict[str, Any] = {
        "row": number,
        "status": "failed",
        "error": error.message,
        "code": error.code,
    }
    if error.details:
        result["details"] = error.details
    return result


def summary(results: list[dict[str, Any]], dry_run: bool) -> dict[str, Any]:
    results.sort(key=lambda r: r["row"])
    created = sum(1 for r in results if r["status"] == "created")
    body: dict[str, Any] = {
        "rows": len(results),
        "created": created,
        "failed": len(results) - created,
        "results": results,
    }
    if dry_run:
        body["dry_run"] = True
    return body


def _business(error: errors.AppError) -> bool:
    """A row's own failure (it fails that row); anything else (a 503) stops the import."""
    return error.status < 500


async def run_rows(
    db: Database,
    clock: Clock,
    organization_id: str,
    event_id: str,
    parsed: upload.Upload,
    event: rows.EventShape,
    *,
    dry_run: bool = False,
    job: Job | None = None,
    on_progress: Progress | None = None,
) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    lease = _Lease(db, clock, job)
    carried: dict[str, int] = {}  # dry run: seats taken so far, per class ID and "" = event
    total = len(parsed.rows)
    for done, (number, cells) in enumerate(parsed.rows, start=1):
        if job is not None and number in job.finished:
            results.append(job.finished[number])
        else:
            await lease.keep()
            try:
                body = rows.body(parsed, cells, event)
                if dry_run:
                    results.append(
                        await _dry_row(db, clock, organization_id, event_id, body, number, carried)
                    )
                else:
                    results.append(
                        await _row(db, clock, organization_id, event_id, body, number, job)
                    )
            except errors.AppError as error:
                if not _business(error):
                    raise
                results.append(failed(number, error))
            # Let other requests of this process run between rows: a SQLite transaction never
            # suspends, so without this an import would hold the event loop to itself.
            await asyncio.sleep(0)
        if on_progress is not None:
            on_progress(done, total)
    return summary(results, dry_run)


async def _row(
    db: Database,
    clock: Clock,
    organization_id: str,
    event_id: str,
    body: Any,
    number: int,
    job: Job | None,
) -> dict[str, Any]:
    """One row, created and (under a key) recorded together. On PostgreSQL it is first tried
    as one statement, as Create Attendee itself is (``tessera.db.run_as_one_statement``): half
    the round trips; whenever that cannot hold, nothing was written and the transaction
    decides."""
    now = clock()

    def result_of(created: dict[str, Any]) -> dict[str, Any]:
        return {"row": number, "status": "created", "payment_id": created["payment_id"]}

    async def in_one_statement(conn: OneStatement) -> dict[str, Any]:
        result = result_of(
            await create.create_attendees_in_one_statement(
                conn, organization_id, event_id, body, now
            )
        )
        if job is not None:
            await jobs.record_row(conn, job.id, number, result)
        return result

    async def work(conn: Connection) -> dict[str, Any]:
        result = result_of(
            await create.create_attendees(conn, organization_id, event_id, body, now)
        )
        if job is not None:
            await jobs.record_row(conn, job.id, number, result)
        return result

    if db.one_statement_units:
        try:
            return await db.run_as_one_statement(in_one_statement)
        except Stale:
            pass
    try:
        return await db.run(work)
    except IntegrityViolation:
        if job is None:
            raise
        # The row's record already exists: another request resumed this import and ran it
        # (this one's lease had lapsed). Its create was rolled back with the record; theirs
        # stands.
        async with db.reader() as conn:
            finished = await jobs.finished_rows(conn, job.id)
        if number not in finished:
            raise
        return finished[number]


class _Rollback(Exception):
    def __init__(self, result: dict[str, Any]) -> None:
        self.result = result


async def _dry_row(
    db: Database,
    clock: Clock,
    organization_id: str,
    event_id: str,
    body: Any,
    number: int,
    carried: dict[str, int],
) -> dict[str, Any]:
    async def work(conn: Connection) -> None:
        before = await _seats(conn, organization_id, event_id)
        for class_id, seats in carried.items():
            await _add_seats(conn, event_id, class_id, seats)
        await create.create_attendees(conn, organization_id, event_id, body, clock())
        await conn.flush()
        after = await _seats(conn, organization_id, event_id)
        for key, sold in after.items():
            taken = sold - before.get(key, 0) - carried.get(key, 0)
            if taken:
                carried[key] = carried.get(key, 0) + taken
        raise _Rollback({"row": number, "status": "created"})

    try:
        await db.run(work)
    except _Rollback as done:
        return done.result
    raise AssertionError("unreachable: a dry row always rolls back")  # pragma: no cover


async def _seats(conn: Connection, organization_id: str, event_id: str) -> dict[str, int]:
    """Seats taken per class of the event, and in the event itself (key ``""``), locked in
    the documented order (classes, then the event) so the counts stay ours until rollback."""
    lock = " FOR UPDATE" if conn.dialect == "postgresql" else ""
    found = {
        row["id"]: int(row["quantity_sold"])
        for row in await conn.fetch(
            "SELECT id, quantity_sold FROM ticket_classes WHERE organization_id = $1"
            f" AND event_id = $2 ORDER BY id{lock}",
            organization_id,
            event_id,
        )
    }
    found[""] = int(
        await conn.fetchval(
            f"SELECT tickets_sold FROM events WHERE organization_id = $1 AND id = $2{lock}",
            organization_id,
            event_id,
        )
    )
    return found


async def _add_seats(conn: Connection, event_id: str, key: str, seats: int) -> None:
    if key == "":
        await conn.execute(
            "UPDATE events SET tickets_sold = tickets_sold + $2 WHERE id = $1", event_id, seats
        )
    else:
        await conn.execute(
            "UPDATE ticket_classes SET quantity_sold = quantity_sold + $2 WHERE id = $1",
            key,
            seats,
        )


LEASE_MICROS = 10_000_000
RENEW_MICROS = 2_000_000


class _Lease:
    """Keeps a keyed import's lease fresh while its rows run (renewed every few seconds in a
    small transaction of its own); raises :class:`LostLease` if another request took it."""

    def __init__(self, db: Database, clock: Clock, job: Job | None) -> None:
        self.db, self.clock, self.job = db, clock, job
        self.renewed = clock()

    async def keep(self) -> None:
        job = self.job
        if job is None or self.clock() - self.renewed < RENEW_MICROS:
            return
        now = self.clock()
        renewed = await self.db.run(
            lambda conn: jobs.renew_lease(conn, job.id, job.owner, now + LEASE_MICROS)
        )
        if not renewed:
            raise LostLease()
        self.renewed = now
