"""As a new user would: a fresh `tessera serve` on SQLite (its outbox worker runs in-process),
two tickets with send_email, the email in the mail folder, its link opened in a browser, and the
two QR codes on the screen read back."""

from __future__ import annotations

import email
import re
import time
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from PIL import Image

from tests.email.support import text_part
from tests.ticket_page.served import (
    ServedTessera,
    chromium,
    read_qr_codes,
    save_artifact,
    screenshot,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServedTessera]:
    chromium()
    server = ServedTessera(tmp_path)  # no TESSERA_SMTP_URL: emails become .eml files
    try:
        yield server.start()
    finally:
        server.stop()


def wait_for_eml(folder: Path, timeout: float = 20) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sorted(folder.glob("*.eml")) if folder.exists() else []
        if found:
            return found[0]
        time.sleep(0.1)
    pytest.fail(f"no .eml in {folder} within {timeout:.0f} s")


def test_tickets_reach_a_new_user(served: ServedTessera, tmp_path: Path) -> None:
    event = served.make_event(name="Harbor Lights Festival")
    created = served.make_attendees(
        event,
        quantity=2,
        send_email=True,
        contact={"email": "grace@example.com", "first_name": "Grace", "last_name": "Hopper"},
    )
    barcodes = sorted(ticket["barcode"] for ticket in created["data"])

    eml = wait_for_eml(served.mail_dir)
    message = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert message["To"] == "Grace Hopper <grace@example.com>"
    assert message["Subject"] == "Your tickets for Harbor Lights Festival"
    links = re.findall(r"https?://\S+/t/pay_\w+", text_part(message))
    assert links == [f"{served.url}/t/{created['payment_id']}"]

    shot = screenshot(links[0], tmp_path / "from-email.png")
    save_artifact(shot, "new-user-ticket-page.png")
    assert sorted(read_qr_codes(Image.open(shot))) == barcodes
    assert [p.name for p in served.mail_dir.iterdir()] == [eml.name]  # one email, no leftovers
