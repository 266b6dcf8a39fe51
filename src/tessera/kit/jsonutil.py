"""JSON encoding used for every response body and for idempotency fingerprints."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)


def loads(data: bytes | str) -> Any:
    return orjson.loads(data)


def canonical(value: Any) -> bytes:
    """Key-sorted, whitespace-free JSON: two bodies that mean the same encode the same."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def fingerprint(method: str, path: str, body: Any) -> str:
    digest = hashlib.sha256()
    digest.update(method.upper().encode())
    digest.update(b"\n")
    digest.update(path.encode())
    digest.update(b"\n")
    digest.update(canonical(body))
    return digest.hexdigest()
