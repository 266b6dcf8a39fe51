"""The ticket page as a phone shows it and as it prints: rendered by headless Chromium from a real
`tessera serve`, with the QR codes read back from the screenshot's pixels."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from tests.ticket_page.served import (
    ServedTessera,
    pdf_page_count,
    print_to_pdf,
    read_qr_codes,
    save_artifact,
    screenshot,
)

pytestmark = pytest.mark.slow


def test_phone_screenshot_shows_a_readable_qr_code_per_live_ticket(
    served: ServedTessera, tmp_path: Path
) -> None:
    event = served.make_event()
    created = served.make_attendees(event, quantity=3)
    live, scanned, cancelled = created["data"]
    for ticket, status in ((scanned, "checked_in"), (cancelled, "deleted")):
        response = served.request(
            "PATCH", f"/api/v1/events/{event['id']}/attendees/{ticket['id']}", {"status": status}
        )
        assert response.status_code == 200, response.text

    shot = screenshot(f"{served.url}/t/{created['payment_id']}", tmp_path / "phone.png")
    save_artifact(shot, "ticket-page-phone.png")
    # At a phone's width, every ticket that admits (valid, checked in) shows a whole code that
    # decodes to its barcode; the cancelled one shows none.
    codes = read_qr_codes(Image.open(shot))
    assert sorted(codes) == sorted([live["barcode"], scanned["barcode"]])


def test_printing_puts_one_ticket_on_each_page(served: ServedTessera, tmp_path: Path) -> None:
    event = served.make_event(name="Print Test Night")
    created = served.make_attendees(
        event, quantity=3, contact={"email": "print@example.com", "first_name": "Pam"}
    )
    pdf = print_to_pdf(f"{served.url}/t/{created['payment_id']}", tmp_path / "print.pdf")
    save_artifact(tmp_path / "print.pdf", "ticket-page-print.pdf")
    assert pdf_page_count(pdf) == 3
