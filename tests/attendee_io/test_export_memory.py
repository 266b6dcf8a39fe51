"""Streaming (SPEC §10: memory stays flat): a 100,000-row export from a real `tessera serve`
process, whose resident memory is sampled while it streams, grows by at most 20 MB.

Without streaming the CSV alone (≈ 23 MB here) would sit in the process, and without a turn of
the event loop per chunk the whole export piles up in the transport before a byte is sent
(measured: +43 MB); streamed, it grows ≈ 2 MB.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from bench.data_io import measure_export, setup, start_server

from tests.concurrency.harness import free_port

pytestmark = pytest.mark.slow

ROWS = 100_000
GROWTH_MB = 20


def test_a_100k_export_streams_in_flat_memory(tmp_path: Path, sqlite_template: Path) -> None:
    path = tmp_path / "tessera.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    made = asyncio.run(setup(url, ROWS))
    port = free_port()
    server = start_server(url, tmp_path, port)
    try:
        measured = measure_export(
            f"http://127.0.0.1:{port}", made["key"], made["export_event"], server.pid
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert measured["rows"] == ROWS
    assert measured["rss_growth_mb"] <= GROWTH_MB, measured
