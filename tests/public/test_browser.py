"""Registering on the public event page as a person does: a real headless Chromium, a real
`tessera serve`, the form filled and submitted, landing on the ticket page with its QR codes."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.public.browser import browser, chromium_path
from tests.public.waitlisting import claim_link
from tests.ticket_page.served import ServedTessera, save_artifact

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedTessera]:
    chromium_path()
    server = ServedTessera(tmp_path_factory.mktemp("public-served"))
    try:
        yield server.start()
    finally:
        server.stop()


def test_a_person_registers_and_lands_on_the_ticket_page(
    served: ServedTessera, tmp_path: Path
) -> None:
    event = served.make_event(name="Harbor Lights Festival", capacity=50)
    with browser() as chromium:
        context = chromium.new_context(
            viewport={"width": 390, "height": 844}, timezone_id="Europe/Berlin"
        )
        page = context.new_page()
        page.goto(f"{served.url}/e/{event['id']}")
        assert page.title() == "Harbor Lights Festival"
        # The reader is in Berlin, the event in Boston: the script adds the reader's time.
        local = page.locator(".local-time")
        local.wait_for(state="visible")
        assert "Europe/Berlin" in local.inner_text()
        assert "50 left" in page.locator(".classes").inner_text()
        page.fill("#quantity", "2")
        page.fill("#first_name", "Grace")
        page.fill("#last_name", "Hopper")
        page.fill("#email", "grace@example.com")
        page.screenshot(path=str(tmp_path / "form.png"), full_page=True)
        save_artifact(tmp_path / "form.png", "public-event-page-phone.png")
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r".*/t/pay_[A-Za-z0-9]+$"))
        assert page.locator(".ticket").count() == 2
        assert page.locator(".holder").first.inner_text() == "Grace Hopper"
        assert page.locator("svg.qr").count() == 2
        context.close()


def test_errors_show_beside_the_field_without_javascript(served: ServedTessera) -> None:
    event = served.make_event(name="No Script Night")
    with browser() as chromium:
        context = chromium.new_context(java_script_enabled=False)
        page = context.new_page()
        page.goto(f"{served.url}/e/{event['id']}")
        page.fill("#first_name", "Alan")
        page.fill("#email", "not an email")
        page.click("button[type=submit]")
        error = page.locator('[data-field="email"]')
        assert "valid email address" in error.inner_text()
        assert page.input_value("#first_name") == "Alan"
        page.fill("#email", "alan@example.com")
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r".*/t/pay_[A-Za-z0-9]+$"))
        assert page.locator(".holder").first.inner_text() == "Alan"
        context.close()


def test_a_person_joins_the_waitlist_and_claims_the_freed_seat(served: ServedTessera) -> None:
    event = served.make_event(name="Tiny Gig", capacity=1)
    holder = served.make_attendees(event)["data"][0]
    with browser() as chromium:
        context = chromium.new_context(viewport={"width": 390, "height": 844})
        page = context.new_page()
        page.goto(f"{served.url}/e/{event['id']}")
        assert "Sold out" in page.locator(".classes").inner_text()
        waitlist = page.locator("section.waitlist form")
        waitlist.locator("input[name=first_name]").fill("Edsger")
        waitlist.locator("input[name=email]").fill("edsger@example.com")
        waitlist.locator("button[type=submit]").click()
        page.wait_for_url(re.compile(r".*/waitlist/joined$"))
        assert "on the waitlist" in page.inner_text("h1")

        deleted = served.request(
            "PATCH", f"/api/v1/events/{event['id']}/attendees/{holder['id']}", {"status": "deleted"}
        )
        assert deleted.status_code == 200
        link = _claim_link(served, "edsger@example.com")  # the in-process worker's email
        page.goto(link)
        assert "A seat is yours" in page.inner_text("h1")
        page.click("form.claim button[type=submit]")
        page.wait_for_url(re.compile(r".*/t/pay_[A-Za-z0-9]+$"))
        assert page.locator(".holder").first.inner_text() == "Edsger"
        assert page.locator("svg.qr").count() == 1
        context.close()


def _claim_link(served: ServedTessera, to: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return claim_link(served.mail_dir, to)
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
