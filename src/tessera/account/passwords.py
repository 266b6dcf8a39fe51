"""Password hashing with Argon2id (argon2-cffi's defaults: RFC 9106's low-memory profile).

Hashing costs tens of milliseconds of CPU on purpose, so callers run it in a thread
(:func:`asyncio.to_thread`) and never on the event loop. A sign-in for an unknown email verifies
against :data:`DUMMY_HASH`, so it costs the same time as one for a known email.
"""

from __future__ import annotations

import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 8  # NIST SP 800-63B: at least 8, no composition rules
MAX_LENGTH = 1024  # hashing is linear in the length: no megabyte passwords

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


@lru_cache(maxsize=1)
def dummy_hash() -> str:
    """A hash of a random password, made once per process, verified for unknown emails."""
    return _hasher.hash(secrets.token_urlsafe(16))


def generate() -> str:
    """A one-time password: 20 characters, 120 random bits, safe to read aloud or paste."""
    return secrets.token_urlsafe(15)


def problem(password: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters long"
    if len(password) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters long"
    return None
