"""CSRF protection for the public forms, without a login session: a signed double submit.

The first page view sets a cookie holding a random browser ID (``HttpOnly``, ``SameSite=Lax``;
not ``Secure``, see :func:`cookie_header`). Every rendered form carries ``csrf_token`` = a fresh
random nonce and an HMAC-SHA256 of (browser ID, nonce, event) under a server key. A POST is
accepted only when the cookie is present and the token's HMAC matches it: another site can make
a browser send the cookie, but cannot read it or the page, so it cannot produce a matching
token; and a token lifted from one browser is useless without that browser's cookie.

The server key is made on first use and kept in the database (``site_secrets``), so every
server process shares it and nothing needs configuring. The nonce also makes each rendering of
the form distinct: ``tessera.public.register`` derives the double-submit idempotency key from it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from fastapi import Request

from tessera.db import Connection
from tessera.public import repository

COOKIE = "tessera_form"
SECRET_NAME = "public_form_csrf"
MAX_AGE = 30 * 24 * 3600
_BROWSER_ID = re.compile(r"^[A-Za-z0-9_-]{22,64}$")
_TOKEN = re.compile(r"^([A-Za-z0-9_-]{16,64})\.([A-Za-z0-9_-]{43})$")


async def server_key(request: Request) -> bytes:
    """The signing key, read (or made) once per process."""
    state = request.app.state
    key: bytes | None = getattr(state, "public_csrf_key", None)
    if key is not None:
        return key

    async def load(conn: Connection) -> str:
        now: int = state.clock()
        await repository.insert_secret(conn, SECRET_NAME, secrets.token_urlsafe(32), now)
        value = await repository.secret(conn, SECRET_NAME)
        assert value is not None
        return value

    value = await state.db.run(load)
    key = value.encode()
    state.public_csrf_key = key
    return key


def browser_id(request: Request) -> str | None:
    value = request.cookies.get(COOKIE)
    return value if value is not None and _BROWSER_ID.match(value) else None


def new_browser_id() -> str:
    return secrets.token_urlsafe(16)


def _sign(key: bytes, browser: str, nonce: str, scope: str) -> str:
    digest = hmac.new(key, f"{browser}|{nonce}|{scope}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def issue(key: bytes, browser: str, scope: str) -> str:
    """A token for one rendering of a form in ``scope`` (the event)."""
    nonce = secrets.token_urlsafe(16)
    return f"{nonce}.{_sign(key, browser, nonce, scope)}"


def verify(key: bytes, browser: str | None, token: str, scope: str) -> str | None:
    """The token's nonce when it matches this browser's cookie and scope, else None."""
    found = _TOKEN.match(token)
    if browser is None or found is None:
        return None
    nonce, signature = found.groups()
    if not hmac.compare_digest(signature, _sign(key, browser, nonce, scope)):
        return None
    return nonce


def cookie_header(browser: str) -> str:
    # Not Secure even behind https: the browser ID is no credential (a token is worthless
    # without the server key), and a Secure cookie is never sent back over plain http, which
    # would make every form post there fail.
    return f"{COOKIE}={browser}; Path=/; Max-Age={MAX_AGE}; HttpOnly; SameSite=Lax"
