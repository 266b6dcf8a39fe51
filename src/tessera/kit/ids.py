"""Unguessable identifiers from an alphabet without look-alike characters.

The alphabets leave out 0/O/o, 1/l/I so that an ID read aloud or typed from paper survives.
Characters are drawn from the operating system's CSPRNG by rejection sampling, so every character
is uniform.
"""

from __future__ import annotations

import math
import os
import threading

# 56 characters: 5.8 bits each.
ID_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz"
# 32 upper-case characters (5 bits each): barcodes stay in the compact alphanumeric QR mode
# and can be read out at a door without case confusion.
BARCODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def _translation(alphabet: str) -> tuple[bytes, bytes]:
    """A bytes.translate table mapping byte values to characters, and the bytes to drop.

    Byte values are kept only below the largest multiple of the alphabet's size (rejection
    sampling), so every character is equally likely.
    """
    size = len(alphabet)
    limit = 256 - (256 % size)
    table = bytes(ord(alphabet[value % size]) if value < limit else 0 for value in range(256))
    return table, bytes(range(limit, 256))


_TABLES = {ID_ALPHABET: _translation(ID_ALPHABET), BARCODE_ALPHABET: _translation(BARCODE_ALPHABET)}


class _RandomPool:
    """``os.urandom`` bytes drawn 4 KiB at a time: one system call per ~150 IDs instead of one
    per ID (a Create Attendee draws five). Each byte is handed out once; a forked child starts
    with an empty pool, so two processes never share bytes."""

    SIZE = 4096

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buffer = b""
        self._offset = 0
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._buffer, self._offset = b"", 0

    def take(self, count: int) -> bytes:
        with self._lock:
            if self._offset + count > len(self._buffer):
                self._buffer, self._offset = os.urandom(max(self.SIZE, count)), 0
            start = self._offset
            self._offset += count
            return self._buffer[start : self._offset]


_pool = _RandomPool()


def random_string(length: int, alphabet: str = ID_ALPHABET) -> str:
    table, rejected = _TABLES.get(alphabet) or _translation(alphabet)
    out = b""
    while len(out) < length:
        out += _pool.take(length + 8).translate(table, rejected)
    return out[:length].decode("ascii")


def _chars_for(bits: int, alphabet: str = ID_ALPHABET) -> int:
    return math.ceil(bits / math.log2(len(alphabet)))


# 20 characters of the 56-letter alphabet carry 116 bits.
def event_id() -> str:
    return random_string(20)


def ticket_class_id() -> str:
    return "prod_" + random_string(20)


def ticket_id() -> str:
    return "tkt_" + random_string(20)


def contact_id() -> str:
    return "con_" + random_string(20)


# Appears in the public ticket-page URL: at least 128 bits (computed once, not per payment).
_PAYMENT_ID_CHARS = max(23, _chars_for(128))


def payment_id() -> str:
    return "pay_" + random_string(_PAYMENT_ID_CHARS)


def question_id() -> str:
    return "q_" + random_string(20)


def import_id() -> str:
    return "imp_" + random_string(20)


def webhook_endpoint_id() -> str:
    return "we_" + random_string(20)


def webhook_delivery_id() -> str:
    return "whd_" + random_string(20)


def organization_id() -> str:
    return "org_" + random_string(20)


def api_key_id() -> str:
    return "key_" + random_string(20)


def request_id() -> str:
    """128 random bits in hex: an X-Request-Id for a request that brought none."""
    return _pool.take(16).hex()


def barcode() -> str:
    # 20 characters of a 32-letter alphabet: 100 bits, independent of the ticket ID.
    return random_string(20, BARCODE_ALPHABET)
