"""Runs a creating request as one unit of work, with or without an Idempotency-Key.

The business writes and the stored outcome commit in one transaction. Outcomes produced after
authentication and validation are stored: 2xx and the business errors 404, 409 (capacity and
other conflicts), 422. Everything else (400, 401, 403, 429, the in-progress 409, 5xx) is not,
so a retry executes afresh.

On PostgreSQL a creating request may also come with a version of its work that runs as one
statement (``tessera.db.run_as_one_statement``): the key's lock, the business writes and the
stored outcome then travel together, and commit only if nothing changed since the work read
the database. That version only ever succeeds; whenever it cannot (the key in flight or already
answered, a change meanwhile, any error), nothing was written and the transaction below runs and
decides, exactly as it does without it. There may be several such versions, tried in order
(Create Attendee's first one sends its statement without reading, from what an earlier read
found; the next reads): the transaction runs once every one has given way.

A unit that contends for one row (a create's ticket class) may name it as its ``turn``: on
PostgreSQL, units of the same row then run one at a time in this process (tessera.db.turns),
and a request whose key is already running in this process is answered the in-progress 409 at
once, as the key's lock would answer it, instead of queueing for the turn.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request, Response

from tessera.auth.service import Principal
from tessera.db import Connection, Database, OneStatement, Stale, turns
from tessera.errors import AppError, BadRequest, Conflict, Unprocessable
from tessera.idempotency import store
from tessera.kit import jsonutil
from tessera.kit.http import JSON, json_response

HEADER = "idempotency-key"
PARSED_BODY = "parsed_json_body"  # request.state: the decoded body, for the fingerprint
_FINGERPRINT = "idempotency_fingerprint"  # request.state: computed once a request
STORED_ERROR_STATUSES = frozenset({404, 409, 422})
_REPLAYED_HEADERS = ("content-type", "location")
# (API key or user scope, Idempotency-Key) of the keyed units taking a turn in this process
_IN_FLIGHT: set[tuple[str, str]] = set()


@dataclass(slots=True)
class Outcome:
    status: int
    payload: Any
    headers: dict[str, str] = field(default_factory=dict)


Work = Callable[[Connection], Awaitable[Outcome]]
OneStatementWork = Callable[[OneStatement], Awaitable[Outcome]]


OneStatementWorks = OneStatementWork | Sequence[OneStatementWork] | None


def _versions(in_one_statement: OneStatementWorks) -> tuple[OneStatementWork, ...]:
    if in_one_statement is None:
        return ()
    if callable(in_one_statement):
        return (in_one_statement,)
    return tuple(in_one_statement)


class _StoreError(Exception):
    def __init__(self, error: AppError) -> None:
        self.error = error


class _AlreadyStored(Exception):
    pass


def in_progress() -> Conflict:
    return Conflict(
        "idempotent_request_in_progress",
        code="idempotent_request_in_progress",
        headers={"Retry-After": "1"},
    )


def reused() -> Unprocessable:
    return Unprocessable(
        "Idempotency key reused with a different request", code="idempotency_key_reused"
    )


def idempotency_key(request: Request) -> str | None:
    """The header's value, or None. Malformed, empty, over-long or repeated → 400."""
    values = request.headers.getlist(HEADER)
    if not values:
        return None
    if len(values) > 1:
        raise _invalid("Send the Idempotency-Key header once.")
    key = values[0]
    if not 1 <= len(key) <= 255:
        raise _invalid("An Idempotency-Key is 1 to 255 characters long.")
    # Visible ASCII is 0x21-0x7E: ASCII, printable (0x20-0x7E), and no space. Three C calls
    # in place of a generator over every character (a key is typically 20-40 of them).
    if not (key.isascii() and key.isprintable()) or " " in key:
        raise _invalid("An Idempotency-Key holds only visible ASCII characters (no spaces).")
    return key


def _invalid(reason: str) -> BadRequest:
    return BadRequest(
        "Invalid Idempotency-Key header", code="invalid_idempotency_key", details={"reason": reason}
    )


def _render(outcome: Outcome) -> tuple[bytes, dict[str, str]]:
    return jsonutil.dumps(outcome.payload), {"content-type": JSON, **outcome.headers}


def _replay(stored: Any, fingerprint: str) -> Response:
    if stored["fingerprint"] != fingerprint:
        raise reused()
    headers = jsonutil.loads(stored["headers"])
    headers["Idempotent-Replay"] = "true"
    return Response(
        content=bytes(stored["body"]), status_code=stored["status_code"], headers=headers
    )


async def _parsed_body(request: Request) -> Any:
    """The request's JSON (None when it has no body), read only when a key needs a fingerprint."""
    if hasattr(request.state, PARSED_BODY):  # decoded once already, by the fast path
        return getattr(request.state, PARSED_BODY)
    raw = await request.body()
    return jsonutil.loads(raw) if raw.strip() else None


def _fingerprint(request: Request, body: Any) -> str:
    found: str | None = getattr(request.state, _FINGERPRINT, None)
    if found is None:
        found = jsonutil.fingerprint(request.method, request.url.path, body)
        setattr(request.state, _FINGERPRINT, found)
    return found


def stored_replay(request: Request, body: Any) -> Response | None:
    """The stored outcome, if the edge's lookup found one for this request's key that answered
    the very same request: then the body need not be validated again (it was, the first time;
    a stored outcome exists only for a validated request, under a well-formed key). Anything
    else, None: no key, no outcome yet, or another request's outcome (whose 422 comes after
    validation, as it always did)."""
    prefetch = getattr(request.state, "idempotency_prefetch", None)
    stored = prefetch[1] if prefetch is not None else None
    if stored is None or stored["fingerprint"] != _fingerprint(request, body):
        return None
    return _replay(stored, stored["fingerprint"])


async def run(
    request: Request,
    principal: Principal,
    work: Work,
    *,
    in_one_statement: OneStatementWorks = None,
    key: str | None = None,
    turn: str | None = None,
) -> Response:
    """Execute ``work`` in one transaction; with a key, at most once per key.

    ``in_one_statement``, when given and the database offers it, is tried first: the same work
    as one statement, which either succeeds with what ``work`` would have answered or raises
    :class:`~tessera.db.Stale` having written nothing (several versions: each in turn).
    ``key``, when given, is used instead of the Idempotency-Key header (the public forms derive
    theirs from the rendered form). ``turn``: the contended row the work waits on, if any."""
    db: Database = request.app.state.db
    if key is None:
        key = idempotency_key(request)
    if not db.one_statement_units:
        in_one_statement = None
        turn = None
    if key is None:
        async with turns.turn(turn):
            for version in _versions(in_one_statement):
                try:
                    outcome = await db.run_as_one_statement(version)
                    return json_response(outcome.payload, outcome.status, outcome.headers)
                except Stale:
                    pass  # the next version, or the transaction, decides
            outcome = await db.run(work)
            return json_response(outcome.payload, outcome.status, outcome.headers)

    fingerprint = _fingerprint(request, await _parsed_body(request))
    prefetch = getattr(request.state, "idempotency_prefetch", None)
    return await execute(
        db,
        request.app.state.clock(),
        principal.api_key_id,
        key,
        fingerprint,
        work,
        in_one_statement=in_one_statement,
        # looked up with the API key, in the same statement
        prefetched=prefetch if prefetch is not None and prefetch[0] == key else None,
        turn=turn,
    )


async def execute(
    db: Database,
    now: int,
    api_key_id: str,
    key: str,
    fingerprint: str,
    work: Work,
    *,
    in_one_statement: OneStatementWorks = None,
    prefetched: tuple[str, Any] | None = None,
    turn: str | None = None,
) -> Response:
    """Execute ``work`` at most once for (``api_key_id``, ``key``), the request given as its
    ``fingerprint``; a later call answers the stored outcome (marked ``Idempotent-Replay``).

    :func:`run` calls it for the API; the dashboard's manual add calls it with the signed-in
    user's ID in place of an API key's and the form's own key, so both flows share one
    exactly-once guarantee. Raises the in-progress 409 and the reused-key 422 as
    :class:`~tessera.errors.AppError`. ``turn``: the contended row the work waits on, if any
    (tessera.db.turns; PostgreSQL only)."""
    if not db.one_statement_units:
        in_one_statement = None
        turn = None
    if prefetched is not None:
        stored = prefetched[1]
    else:
        async with db.reader() as conn:
            stored = await store.find(conn, api_key_id, key, now)
    if stored is not None:
        return _replay(stored, fingerprint)
    if turn is None:
        return await _execute_once(db, now, api_key_id, key, fingerprint, work, in_one_statement)
    running = (api_key_id, key)
    if running in _IN_FLIGHT:
        raise in_progress()  # what the key's lock answers, without queueing for the turn
    _IN_FLIGHT.add(running)
    try:
        async with turns.turn(turn):
            return await _execute_once(
                db, now, api_key_id, key, fingerprint, work, in_one_statement
            )
    finally:
        _IN_FLIGHT.discard(running)


async def _execute_once(
    db: Database,
    now: int,
    api_key_id: str,
    key: str,
    fingerprint: str,
    work: Work,
    in_one_statement: OneStatementWorks,
) -> Response:
    """:func:`execute` once no stored outcome answered: the one-statement versions, then the
    transaction, then the outcome another request stored meanwhile."""

    def stored_outcome(status: int, content: bytes, headers: dict[str, str]) -> store.Outcome:
        replayed = {k: v for k, v in headers.items() if k.lower() in _REPLAYED_HEADERS}
        return store.Outcome(
            api_key_id, key, fingerprint, status, jsonutil.dumps(replayed).decode(), content, now
        )

    async def save(conn: Connection, status: int, content: bytes, headers: dict[str, str]) -> None:
        if not await store.insert(conn, stored_outcome(status, content, headers)):
            raise _AlreadyStored()  # another request with this key finished since our lookup

    for version in _versions(in_one_statement):

        async def attempt_in_one_statement(
            conn: OneStatement, version: OneStatementWork = version
        ) -> Response:
            await store.expect_lock(conn, api_key_id, key)  # first: checked before anything
            outcome = await version(conn)
            content, headers = _render(outcome)
            await store.expect_insert(conn, stored_outcome(outcome.status, content, headers))
            return Response(content=content, status_code=outcome.status, headers=headers)

        try:
            return await db.run_as_one_statement(attempt_in_one_statement)
        except Stale:
            pass  # in flight, answered meanwhile, or changed: the next version, or the
            # transaction, decides

    async def attempt(conn: Connection) -> Response:
        if not await store.try_lock(conn, api_key_id, key):
            raise in_progress()
        try:
            outcome = await work(conn)
        except AppError as error:
            if error.status in STORED_ERROR_STATUSES:
                raise _StoreError(error) from None  # rolls the business writes back
            raise
        content, headers = _render(outcome)
        await save(conn, outcome.status, content, headers)
        return Response(content=content, status_code=outcome.status, headers=headers)

    try:
        return await db.run(attempt)
    except _StoreError as failed:
        error = failed.error

        async def store_error(conn: Connection) -> Response:
            if not await store.try_lock(conn, api_key_id, key):
                raise in_progress()
            content = jsonutil.dumps(error.body())
            headers = {"content-type": JSON, **error.headers}
            await save(conn, error.status, content, headers)
            return Response(content=content, status_code=error.status, headers=headers)

        try:
            return await db.run(store_error)
        except _AlreadyStored:
            pass
    except _AlreadyStored:
        pass
    async with db.reader() as conn:
        stored = await store.find(conn, api_key_id, key, now)
    if stored is None:  # pragma: no cover - the row we collided with expired in between
        raise in_progress()
    return _replay(stored, fingerprint)
