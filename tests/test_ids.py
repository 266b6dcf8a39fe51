"""Identifiers: uniform over their alphabet, unique, and never shared by forked processes."""

from __future__ import annotations

import os

from tessera.kit import ids


def test_ids_use_only_their_alphabet_and_do_not_repeat() -> None:
    tickets = [ids.ticket_id() for _ in range(20_000)]
    assert len(set(tickets)) == len(tickets)
    assert all(t.startswith("tkt_") and set(t[4:]) <= set(ids.ID_ALPHABET) for t in tickets)
    barcodes = [ids.barcode() for _ in range(5_000)]
    assert all(len(b) == 20 and set(b) <= set(ids.BARCODE_ALPHABET) for b in barcodes)
    seen = set("".join(tickets[:5_000]).replace("tkt_", ""))
    assert seen == set(ids.ID_ALPHABET)  # every character turns up


def test_a_forked_child_never_reuses_the_parents_random_bytes() -> None:
    ids.random_string(10)  # the parent's pool now holds unused bytes
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report the bytes it would draw next, then leave at once
        os.write(write, ids._pool.take(32))
        os._exit(0)
    os.close(write)
    child = os.read(read, 32)
    os.close(read)
    os.waitpid(pid, 0)
    assert len(child) == 32
    assert child != ids._pool.take(32)
