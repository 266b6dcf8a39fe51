"""The dashboard in a real headless Chromium against a real `tessera serve` (SQLite): an
organizer's afternoon, the door's camera scan with Chromium's fake camera playing a video of a
ticket's QR code, and axe-core on every main page (phone and desktop screenshots on the way)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.browser import DESKTOP, PHONE, axe_violations, fake_camera_flags, launch, qr_video
from tests.dashboard.served import ServedDashboard, sign_in

pytestmark = pytest.mark.slow
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _api(served: ServedDashboard, method: str, path: str, body: Any = None) -> Any:
    response = served.request(method, path, body)
    assert response.status_code < 300, response.text
    return response.json()


def test_an_organizer_runs_an_event_from_the_dashboard(served: ServedDashboard, page: Any) -> None:
    sign_in(page, served, "owner")
    assert page.url.endswith("/dashboard")

    # Create an event and a class.
    page.click("text=New event")
    page.fill("#name", "Harbor Lights Gala")
    page.fill("#start", "2027-07-15T18:00")
    page.fill("#timezone", "America/New_York")
    page.fill("#location", "Pier 4")
    page.fill("#capacity", "100")
    page.click("button:has-text('Create event')")
    page.wait_for_url("**/dashboard/events/*")
    event_id = page.url.rstrip("/").rsplit("/", 1)[1]
    page.fill("#class-name", "VIP")
    page.fill("#class-quantity", "3")
    page.click("button:has-text('Add class')")
    page.wait_for_load_state("load")
    assert page.locator("td:has-text('VIP')").count() == 1

    # Add two tickets by hand, double-clicking the submit button: one batch.
    page.click("text=Add attendees")
    page.select_option("#ticket_class_id", label="VIP — 3 seats left")
    page.fill("#email", "grace@example.com")
    page.fill("#first_name", "Grace")
    page.fill("#last_name", "Hopper")
    page.fill("#quantity", "2")
    page.dblclick("button:has-text('Add')")
    page.wait_for_url("**/attendees/tkt_*")
    assert "Issued 2 ticket(s)." in page.inner_text("main")
    payments = _api(served, "GET", f"/api/v1/payments?event_id={event_id}")
    assert payments["pagination"]["total"] == 1
    listed = _api(served, "GET", f"/api/v1/events/{event_id}/attendees")
    assert listed["pagination"]["total"] == 2

    # A full class answers in the form, with what was typed and the seats left.
    page.goto(f"{served.url}/dashboard/events/{event_id}/attendees/new")
    page.select_option("#ticket_class_id", label="VIP — 1 seats left")
    page.fill("#email", "late@example.com")
    page.fill("#quantity", "2")
    page.click("button:has-text('Add')")
    page.wait_for_load_state("load")
    assert "only 1 seat(s) left in this class" in page.inner_text("[role=alert]")
    assert page.input_value("#email") == "late@example.com"

    # Someone pending, found in the table and approved.
    page.select_option("#ticket_class_id", label="VIP — 1 seats left")
    page.fill("#email", "pending@example.com")
    page.fill("#first_name", "Pat")
    page.fill("#quantity", "1")
    page.select_option("#status", "pending_approval")
    page.click("button:has-text('Add')")
    page.wait_for_url("**/attendees/tkt_*")
    page.goto(f"{served.url}/dashboard/events/{event_id}/attendees?status=pending_approval")
    page.fill("#q", "pending@")
    page.click("button:has-text('Search')")
    page.wait_for_selector("td:has-text('pending@example.com')")
    assert page.locator("tbody tr").count() == 1
    page.click("tbody a")
    page.click("button:has-text('Approve')")
    page.wait_for_load_state("load")
    assert page.inner_text("#attendee-status") == "Valid"
    assert "Pending approval → Valid" in page.inner_text("main")

    # Grace is in the table of attendees.
    page.goto(f"{served.url}/dashboard/events/{event_id}/attendees?q=grace")
    assert page.locator("td:has-text('grace@example.com')").count() == 2

    # An API key made and revoked.
    page.goto(f"{served.url}/dashboard/api-keys")
    page.fill("#key-name", "Zapier")
    page.click("button:has-text('Create key')")
    secret = page.inner_text("#new-key")
    assert secret.startswith("tsk_")
    assert served.request("GET", "/api/v1/events").status_code == 200
    import httpx

    def with_key() -> int:
        return httpx.get(f"{served.url}/api/v1/events", headers={"X-API-KEY": secret}).status_code

    assert with_key() == 200
    page.goto(f"{served.url}/dashboard/api-keys")
    page.click("button[aria-label='Revoke Zapier']")
    page.wait_for_load_state("load")
    assert with_key() == 401


def test_the_door_scans_a_ticket_with_the_camera(
    served: ServedDashboard, playwright_instance: Any, tmp_path: Path
) -> None:
    event = served.make_event(name="Camera Night")
    ticket = served.make_attendees(event)["data"][0]
    video = qr_video(ticket["barcode"], tmp_path / "ticket.y4m")
    chromium = launch(playwright_instance, *fake_camera_flags(video))
    try:
        context = chromium.new_context(viewport=PHONE)
        context.set_default_timeout(20_000)
        page = context.new_page()
        sign_in(page, served, "door")
        page.goto(f"{served.url}/dashboard/events/{event['id']}/check-in")
        assert page.inner_text("#counts").split() == ["0", "checked", "in", "/", "1", "expected"]
        # With the camera already allowed (the fake UI allows it) the page starts it at once;
        # otherwise "Start camera" does. Pressed in the page itself, atomically, if still needed.
        page.evaluate(
            "() => { const b = document.getElementById('start-camera');"
            " if (!b.disabled) b.click(); }"
        )
        page.wait_for_selector("#scan-result[data-outcome=ok]")
        assert page.inner_text("#scan-result .headline") == "Checked in"
        assert "Ada Byron" in page.inner_text("#scan-result")
        assert page.inner_text("#checked-in-count") == "1"
        decoder = page.get_attribute("body", "data-decoder")
        assert decoder in ("BarcodeDetector", "jsQR")
        # The camera keeps seeing the ticket: a later read answers amber, never a second check-in.
        page.wait_for_selector("#scan-result[data-outcome=already]", timeout=15_000)
        assert page.inner_text("#scan-result .headline").startswith("Already checked in at ")
        context.close()
    finally:
        chromium.close()
    checked = _api(served, "GET", f"/api/v1/events/{event['id']}/attendees/{ticket['id']}")
    assert checked["data"]["status"] == "checked_in"


def test_the_door_searches_by_name_and_sees_an_invalid_ticket_in_red(
    served: ServedDashboard, page: Any
) -> None:
    event = served.make_event(name="Search Night")
    made = served.make_attendees(
        event, quantity=2, contact={"email": "lin@example.com", "first_name": "Lin"}
    )
    rejected = made["data"][1]
    _api(
        served,
        "PATCH",
        f"/api/v1/events/{event['id']}/attendees/{rejected['id']}",
        {"status": "rejected"},
    )
    sign_in(page, served, "door")
    page.goto(f"{served.url}/dashboard/events/{event['id']}/check-in")
    page.fill("#barcode", rejected["barcode"])
    page.click("#scan-form button")
    page.wait_for_selector("#scan-result[data-outcome=invalid]")
    assert page.inner_text("#scan-result .headline") == "Not valid: rejected"
    page.fill("#search-q", "lin")
    page.wait_for_selector("#found button")
    page.click("#found button")
    page.wait_for_selector("#scan-result[data-outcome=ok]")
    assert page.inner_text("#checked-in-count") == "1"


MAIN_PAGES = [
    ("events", "/dashboard"),
    ("event", "/dashboard/events/{event_id}"),
    ("attendees", "/dashboard/events/{event_id}/attendees"),
    ("attendee", "/dashboard/events/{event_id}/attendees/{attendee_id}"),
    ("manual-add", "/dashboard/events/{event_id}/attendees/new"),
    ("import", "/dashboard/events/{event_id}/attendees/import"),
    ("waitlist", "/dashboard/events/{event_id}/waitlist"),
    ("check-in", "/dashboard/events/{event_id}/check-in"),
    ("api-keys", "/dashboard/api-keys"),
    ("webhooks", "/dashboard/webhooks"),
    ("team", "/dashboard/team"),
    ("password", "/dashboard/account/password"),
    ("organizations", "/dashboard/account/organizations"),
]


def test_every_main_page_passes_axe_on_a_phone_and_a_desktop(
    served: ServedDashboard, browser: Any
) -> None:
    event = served.make_event(name="Accessible Evening")
    made = served.make_attendees(event, quantity=1)
    ids = {"event_id": event["id"], "attendee_id": made["data"][0]["id"]}
    shoot = bool(os.environ.get("TESSERA_SCREENSHOTS"))
    for size_name, size in (("phone", PHONE), ("desktop", DESKTOP)):
        context = browser.new_context(viewport=size)
        page = context.new_page()
        page.goto(f"{served.url}/dashboard/login")
        assert axe_violations(page) == [], "login"
        if shoot:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"login-{size_name}.png"))
        sign_in(page, served, "owner")
        for name, template in MAIN_PAGES:
            url = served.url + template.format(**ids)
            page.goto(url)
            assert page.locator("h1").count() == 1, url
            assert axe_violations(page) == [], url
            if shoot:
                page.screenshot(path=str(SCREENSHOTS / f"{name}-{size_name}.png"), full_page=True)
        context.close()


def test_questions_export_import_and_the_waitlist_in_the_browser(
    served: ServedDashboard, page: Any, tmp_path: Path
) -> None:
    """The wired-in parts of SPEC §8 with §9 and §10, each page checked by axe-core: manual add
    with the event's questions and the answers on the attendee's page; the export button's
    download; the import's upload, per-row preview and confirm; the waitlist."""
    event = served.make_event(name="Wired Evening", capacity=3)
    event_id = event["id"]
    size = _api(
        served,
        "POST",
        f"/api/v1/events/{event_id}/questions",
        {"label": "T-shirt", "type": "single_choice", "options": ["S", "M"]},
    )["data"]["id"]
    diet = _api(
        served,
        "POST",
        f"/api/v1/events/{event_id}/questions",
        {"label": "Diet", "type": "multiple_choice", "options": ["Vegan", "Halal"]},
    )["data"]["id"]
    sign_in(page, served, "owner")

    page.goto(f"{served.url}/dashboard/events/{event_id}/attendees/new")
    assert axe_violations(page) == []
    page.fill("#email", "lin@example.com")
    page.fill("#first_name", "Lin")
    page.check(f"#{size}-2")
    page.check(f"#{diet}-1")
    page.click("button:has-text('Add')")
    page.wait_for_url("**/attendees/tkt_*")
    answers = page.inner_text("#answers")
    assert "T-shirt\tM" in answers and "Diet\tVegan" in answers
    assert axe_violations(page) == []

    page.goto(f"{served.url}/dashboard/events/{event_id}/attendees?q=lin")
    with page.expect_download() as download:
        page.click("#export-csv")
    saved = tmp_path / "export.csv"
    download.value.save_as(saved)
    exported = saved.read_text()
    assert exported.splitlines()[0].endswith(",T-shirt,Diet")
    assert "lin@example.com" in exported and exported.count("\n") == 2

    upload = tmp_path / "guests.csv"
    upload.write_text(
        "email,first_name,ticket_class_name,T-shirt\n"
        "ann@example.com,Ann,General Admission,S\n"
        "nope,Bad,General Admission,S\n"
    )
    page.goto(f"{served.url}/dashboard/events/{event_id}/attendees/import")
    page.set_input_files("#file", str(upload))
    page.click("button:has-text('Preview')")
    page.wait_for_selector("#import-results")
    assert page.locator("#import-results tbody tr").count() == 2
    assert page.locator("tr[data-status=failed]").count() == 1
    assert axe_violations(page) == []
    page.dblclick("#import-confirm button[type=submit]")  # a double click imports once
    page.wait_for_selector("#import-summary .notice")
    assert "1 row created, 1 failed" in page.inner_text("#import-summary")
    assert axe_violations(page) == []
    listed = _api(served, "GET", f"/api/v1/events/{event_id}/attendees?email=ann@example.com")
    assert listed["pagination"]["total"] == 1
    assert listed["data"][0]["answers"] == {size: "S"}

    # The event is full (3 seats: Lin, Ann and one more): someone joins the waitlist.
    served.make_attendees(event)
    page.goto(f"{served.url}/e/{event_id}")
    waitlist = page.locator("section.waitlist form")
    waitlist.locator("input[name=first_name]").fill("Wanda")
    waitlist.locator("input[name=email]").fill("wanda@example.com")
    waitlist.locator("button[type=submit]").click()
    page.wait_for_url("**/waitlist/joined")
    page.goto(f"{served.url}/dashboard/events/{event_id}/waitlist")
    row = page.locator("#waitlist tbody tr").first
    assert row.get_attribute("data-status") == "waiting"
    assert "wanda@example.com" in row.inner_text()
    assert row.locator("td").first.inner_text() == "1"
    assert axe_violations(page) == []
