"""A `tessera serve` process for the browser tests, started once per module (it takes a second or
two, and the tests only add data to it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ticket_page.served import ServedTessera, chromium


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedTessera]:
    chromium()  # fail (CI) or skip (locally) before starting anything when there is no browser
    server = ServedTessera(tmp_path_factory.mktemp("served"))
    try:
        yield server.start()
    finally:
        server.stop()
