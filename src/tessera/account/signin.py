"""Signing in with email and password: one generic failure, the same work either way.

An unknown email still verifies a password (against a dummy hash), so the answer takes the
same time whether or not the address has an account. The throttle is checked first.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from tessera import errors
from tessera.account import passwords, repository, sessions, throttle
from tessera.contact.schemas import normalize_email
from tessera.db import Connection, Database

FAILED = "Incorrect email or password."


class SignInFailed(Exception):
    """Wrong email or password (one message for both)."""


@dataclass(frozen=True, slots=True)
class SignedIn:
    token: str
    user_id: str


def _normalized(email: str) -> str:
    try:
        return normalize_email(email)
    except ValueError:
        return email.strip().lower()[:320]


async def sign_in(db: Database, email: str, password: str, client: str, now: int) -> SignedIn:
    """Check the throttle, then the password; on success start a new session.

    Raises :class:`SignInFailed`, or :class:`~tessera.errors.RateLimited` (429) while the
    email or the client is locked out."""
    email = _normalized(email)
    async with db.reader() as conn:
        verdict = await throttle.check(conn, email, client, now)
        user = await repository.get_user_by_email(conn, email)
    if verdict.refuse:
        raise errors.RateLimited(
            "Too many failed sign-ins. Try again later.",
            headers={"Retry-After": str(verdict.retry_after)},
        )
    if verdict.delay:
        await asyncio.sleep(verdict.delay)
    # An over-long password is never hashed whole (it could not have been set), but the same
    # work is done as for any other attempt.
    too_long = len(password) > passwords.MAX_LENGTH
    stored = user["password_hash"] if user is not None and not too_long else passwords.dummy_hash()
    ok = await asyncio.to_thread(passwords.verify, stored, password[: passwords.MAX_LENGTH])
    if not ok or user is None or too_long:
        await db.run(lambda conn: throttle.failed(conn, email, client, now))
        raise SignInFailed(FAILED)
    rehashed = None
    if passwords.needs_rehash(user["password_hash"]):
        rehashed = await asyncio.to_thread(passwords.hash_password, password)

    async def start(conn: Connection) -> SignedIn | None:
        membership = await repository.first_membership(conn, user["id"])
        if membership is None:
            return None
        if rehashed is not None:
            await repository.set_password_hash(conn, user["id"], rehashed, now)
        await throttle.succeeded(conn, email)
        token = await sessions.start(conn, user["id"], membership["organization_id"], now)
        return SignedIn(token, user["id"])

    signed_in = await db.run(start)
    if signed_in is None:  # a user on no team signs in nowhere
        await db.run(lambda conn: throttle.failed(conn, email, client, now))
        raise SignInFailed(FAILED)
    return signed_in
