"""Runs a creating request as one unit of work, with or without an Idempotency-Key.

The business writes and the stored outcome commit in one transaction. Outcomes produced after
authentication and validation are stored: 2xx and the business errors 404, 409 (capacity and
other conflicts), 422. Everything else (400, 401, 403, 429, the in-progress 409, 5xx) is not,
so a retry executes afresh.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request, Response

from tessera.auth.service import Principal
from tessera.db import Connection, Database
from tessera.errors import AppError, BadRequest, Conflict, Unprocessable
from tessera.fast_path import PARSED_BODY
from tessera.idempotency import store
from tessera.kit import jsonutil
from tessera.kit.http import JSON, json_response

HEADER = "idempotency-key"
STORED_ERROR_STATUSES = frozenset({404, 409, 422})
_REPLAYED_HEADERS = ("content-type", "location")


@dataclass(slots=True)
class Outcome:
    status: int
    payload: Any
    headers: dict[str, str] = field(default_factory=dict)


Work = Callable[[Connection], Awaitable[Outcome]]


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
    if any(not 0x21 <= ord(char) <= 0x7E for char in key):
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


async def run(request: Request, principal: Principal, work: Work) -> Response:
    """Execute ``work`` in one transaction; with a key, at most once per key."""
    db: Database = request.app.state.db
    key = idempotency_key(request)
    if key is None:
        outcome = await db.run(work)
        return json_response(outcome.payload, outcome.status, outcome.headers)

    fingerprint = jsonutil.fingerprint(
        request.method, request.url.path, await _parsed_body(request)
    )
    now = request.app.state.clock()
    api_key_id = principal.api_key_id

    prefetch = getattr(request.state, "idempotency_prefetch", None)
    if prefetch is not None and prefetch[0] == key:  # looked up with the API key, same statement
        stored = prefetch[1]
    else:
        async with db.reader() as conn:
            stored = await store.find(conn, api_key_id, key, now)
    if stored is not None:
        return _replay(stored, fingerprint)

    async def save(conn: Connection, status: int, content: bytes, headers: dict[str, str]) -> None:
        saved = await store.insert(
            conn,
            api_key_id=api_key_id,
            key=key,
            fingerprint=fingerprint,
            status_code=status,
            headers=jsonutil.dumps(
                {k: v for k, v in headers.items() if k.lower() in _REPLAYED_HEADERS}
            ).decode(),
            body=content,
            now=now,
        )
        if not saved:  # another request with this key finished between our lookup and lock
            raise _AlreadyStored()

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
