"""Registering on the public event page as a person does: a real headless Chromium, a real
`tessera serve`, the form filled and submitted, landing on the ticket page with its QR codes."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import PHONE, axe_violations, browser, chromium_path, playwright_instance
from tests.public.waitlisting import claim_link
from tests.ticket_page.served import ServedTessera, save_artifact

pytestmark = pytest.mark.slow
__all__ = ["browser", "playwright_instance"]  # fixtures of tests/browser.py, used by name


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedTessera]:
    chromium_path()
    server = ServedTessera(tmp_path_factory.mktemp("public-served"))
    try:
        yield server.start()
    finally:
        server.stop()


def test_a_person_registers_and_lands_on_the_ticket_page(
    served: ServedTessera, tmp_path: Path, browser: Any
) -> None:
    event = served.make_event(name="Harbor Lights Festival", capacity=50)
    context = browser.new_context(
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


def test_errors_show_beside_the_field_without_javascript(
    served: ServedTessera, browser: Any
) -> None:
    event = served.make_event(name="No Script Night")
    context = browser.new_context(java_script_enabled=False)
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


def test_a_person_joins_the_waitlist_and_claims_the_freed_seat(
    served: ServedTessera, browser: Any
) -> None:
    event = served.make_event(name="Tiny Gig", capacity=1)
    holder = served.make_attendees(event)["data"][0]
    context = browser.new_context(viewport={"width": 390, "height": 844})
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


def _question(served: ServedTessera, event_id: str, **fields: Any) -> str:
    response = served.request("POST", f"/api/v1/events/{event_id}/questions", fields)
    assert response.status_code == 201, response.text
    question_id: str = response.json()["data"]["id"]
    return question_id


def test_a_person_answers_the_events_questions(served: ServedTessera, browser: Any) -> None:
    """Every question type on the page, a missing required answer shown beside its field with
    what was typed kept, then the registration with its answers; axe-core on the form."""
    event = served.make_event(name="Question Night", capacity=20)
    q = {
        "company": _question(served, event["id"], label="Company", type="text", required=True),
        "size": _question(
            served, event["id"], label="T-shirt", type="single_choice", options=["S", "M", "L"]
        ),
        "diet": _question(
            served, event["id"], label="Diet", type="multiple_choice", options=["Vegan", "Halal"]
        ),
        "terms": _question(served, event["id"], label="I accept the terms", type="checkbox"),
        "age": _question(served, event["id"], label="Age", type="number"),
        "day": _question(served, event["id"], label="Arrival", type="date"),
        "tel": _question(served, event["id"], label="Mobile", type="phone"),
        "bio": _question(served, event["id"], label="About you", type="long_text"),
    }
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(f"{served.url}/e/{event['id']}")
    assert axe_violations(page) == []
    page.fill("#first_name", "Hedy")
    page.fill("#email", "hedy@example.com")
    page.check(f"#{q['size']}-2")
    page.check(f"#{q['diet']}-1")
    page.check(f"#{q['diet']}-2")
    page.check(f"#{q['terms']}")
    page.fill(f"#{q['age']}", "29")
    page.fill(f"#{q['day']}", "2027-07-15")
    page.fill(f"#{q['tel']}", "+1 555 0100")
    page.fill(f"#{q['bio']}", "Inventor")
    page.click("#register button[type=submit]")  # the required company is missing
    error = page.locator(f'[data-field="{q["company"]}"]')
    assert error.inner_text() == "Answer this question."
    assert page.is_checked(f"#{q['size']}-2") and page.is_checked(f"#{q['diet']}-2")
    assert page.input_value(f"#{q['bio']}") == "Inventor"
    assert axe_violations(page) == []  # the form with its messages too
    page.fill(f"#{q['company']}", "MGM")
    page.click("#register button[type=submit]")
    page.wait_for_url(re.compile(r".*/t/pay_[A-Za-z0-9]+$"))
    context.close()
    listed = served.request("GET", f"/api/v1/events/{event['id']}/attendees").json()["data"]
    assert listed[0]["answers"] == {
        q["company"]: "MGM",
        q["size"]: "M",
        q["diet"]: ["Vegan", "Halal"],
        q["terms"]: True,
        q["age"]: 29,
        q["day"]: "2027-07-15",
        q["tel"]: "+1 555 0100",
        q["bio"]: "Inventor",
    }
