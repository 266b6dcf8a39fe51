"""Standard Webhooks signatures (https://www.standardwebhooks.com).

A secret is ``whsec_`` + base64 of random bytes; the key is those bytes. The signature of a
message is ``v1,`` + base64(HMAC-SHA256(key, f"{webhook_id}.{timestamp}.{body}")). During a
rotation the header carries one signature per valid secret, separated by spaces; receivers
accept the message when any of them matches.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable

PREFIX = "whsec_"
SECRET_BYTES = 32  # the format asks for 24 to 64


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(
    secrets_in_use: Iterable[str], webhook_id: str, timestamp: int, body: bytes
) -> str:
    return " ".join(sign(secret, webhook_id, timestamp, body) for secret in secrets_in_use)
