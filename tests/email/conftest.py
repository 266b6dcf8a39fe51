"""Email tests: a real SMTP server on a loopback port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.email.smtp import SmtpServer


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    try:
        yield server
    finally:
        server.stop()
