"""API key material: a recognizable prefix plus 40 random characters, stored only as SHA-256.

A slow password hash would cost tens of milliseconds per request and buys nothing for a
high-entropy random key; the digest is looked up through a unique index.
"""

from __future__ import annotations

import hashlib

from tessera.kit.ids import random_string

KEY_PREFIX = "tsk_live_"


def generate() -> str:
    return KEY_PREFIX + random_string(40)  # 40 characters of 5.8 bits: 232 random bits


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def display_prefix(key: str) -> str:
    return key[: len(KEY_PREFIX) + 4]
