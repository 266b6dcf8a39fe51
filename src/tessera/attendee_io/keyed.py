"""An import under an ``Idempotency-Key``: exactly once, even across a crash (SPEC §2, §10).

An import is thousands of transactions, not one, so the key cannot be held by one
transaction as other creating requests hold it (``tessera.idempotency``). Instead:

1. A stored outcome for the key is replayed verbatim (``Idempotent-Replay: true``); a
   different file or ``dry_run`` under the same key is ``422 idempotency_key_reused``.
2. Otherwise the request takes the key's *lease* (a row in ``attendee_imports``, 10 s, renewed
   every 2 s while rows run). A second request while the lease is held gets
   ``409 idempotent_request_in_progress``; after a crash the lease runs out within 10 s and the
   re-sent file takes it over.
3. Each created row's result is recorded in the row's own transaction, under a primary key on
   (import, row): a resumed import replays those rows and executes only the others, and even
   two requests that both believed they held the lease cannot create one row twice.
4. The finished outcome is stored under the key (as for any creating request) and the progress
   rows are deleted, in one transaction.

A dry run writes nothing and stores nothing: it does not touch the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tessera import errors
from tessera.attendee_io import importer, jobs
from tessera.db import Connection, Database, IntegrityViolation
from tessera.idempotency import runner, store
from tessera.kit import ids, jsonutil
from tessera.kit.clock import Clock
from tessera.kit.http import JSON

_HEADERS = jsonutil.dumps({"content-type": JSON}).decode()


@dataclass(frozen=True, slots=True)
class Key:
    api_key_id: str
    key: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes
    replayed: bool = False


def replay(stored: Any, key: Key) -> Answer:
    if stored["fingerprint"] != key.fingerprint:
        raise runner.reused()
    return Answer(stored["status_code"], bytes(stored["body"]), replayed=True)


async def run(
    db: Database,
    clock: Clock,
    organization_id: str,
    event_id: str,
    raw: bytes,
    key: Key,
    *,
    prefetched: Any = None,
    on_progress: importer.Progress | None = None,
) -> Answer:
    stored = prefetched
    if stored is None:
        async with db.reader() as conn:
            stored = await store.find(conn, key.api_key_id, key.key, clock())
    if stored is not None:
        return replay(stored, key)
    try:
        async with db.reader() as conn:
            event = await importer.read_event(conn, organization_id, event_id)
    except errors.NotFound as missing:
        return await _store_error(db, clock, key, missing)
    parsed = importer.parse(raw, event)  # a 400 is not stored: a corrected file may follow
    job = await _claim(db, clock, organization_id, event_id, key)
    if isinstance(job, Answer):
        return job  # a request with this key finished since the first look: its answer
    try:
        result = await importer.run_rows(
            db, clock, organization_id, event_id, parsed, event, job=job, on_progress=on_progress
        )
    except importer.LostLease:
        raise runner.in_progress() from None
    body = jsonutil.dumps(result)
    return await _finish(db, clock, key, job, body)


async def _claim(
    db: Database, clock: Clock, organization_id: str, event_id: str, key: Key
) -> importer.Job | Answer:
    owner = ids.random_string(20)

    async def claim(conn: Connection) -> importer.Job | Answer:
        now = clock()
        await jobs.purge_expired(conn, now)
        found = await jobs.find(conn, key.api_key_id, key.key)
        if found is None:
            # No import under way: perhaps one finished after this request's first look (its
            # finish stores the outcome and deletes the job in one transaction, so looking
            # at the job first, then the outcome, cannot miss both). Without this look, such
            # a request would start the import again under a new job and create every row
            # twice (seen with three confirms of the dashboard's import at once).
            stored = await store.find(conn, key.api_key_id, key.key, now)
            if stored is not None:
                return replay(stored, key)
            job = importer.Job(ids.import_id(), owner)
            await jobs.insert(
                conn,
                {
                    "id": job.id,
                    "organization_id": organization_id,
                    "event_id": event_id,
                    "api_key_id": key.api_key_id,
                    "idempotency_key": key.key,
                    "fingerprint": key.fingerprint,
                    "lease_owner": owner,
                    "lease_until": now + importer.LEASE_MICROS,
                    "created_at": now,
                },
            )
            return job
        if found["fingerprint"] != key.fingerprint:
            raise runner.reused()
        if found["lease_until"] > now:
            raise runner.in_progress()
        await jobs.take_lease(conn, found["id"], owner, now + importer.LEASE_MICROS)
        return importer.Job(found["id"], owner, await jobs.finished_rows(conn, found["id"]))

    try:
        return await db.run(claim)
    except IntegrityViolation:  # another request inserted the same key's import meanwhile
        raise runner.in_progress() from None


async def _finish(db: Database, clock: Clock, key: Key, job: importer.Job, body: bytes) -> Answer:
    async def finish(conn: Connection) -> bool:
        outcome = store.Outcome(
            key.api_key_id, key.key, key.fingerprint, 200, _HEADERS, body, clock()
        )
        if not await store.insert(conn, outcome):
            return False
        await jobs.delete(conn, job.id)
        return True

    if await db.run(finish):
        return Answer(200, body)
    async with db.reader() as conn:  # another request finished it first: its answer stands
        stored = await store.find(conn, key.api_key_id, key.key, clock())
    if stored is None:  # pragma: no cover - stored a moment ago, 24 h to live
        raise runner.in_progress()
    return replay(stored, key)


async def _store_error(db: Database, clock: Clock, key: Key, error: errors.AppError) -> Answer:
    body = jsonutil.dumps(error.body())

    async def save(conn: Connection) -> bool:
        outcome = store.Outcome(
            key.api_key_id, key.key, key.fingerprint, error.status, _HEADERS, body, clock()
        )
        return await store.insert(conn, outcome)

    await db.run(save)
    return Answer(error.status, body)
