"""The dashboard's export button, import page and waitlist page (SPEC §8 with §9 and §10), on
SQLite and PostgreSQL: the same export, import and waitlist code as the API's."""

from __future__ import annotations

import base64
import csv
import io
import re
import threading
from html import unescape
from typing import Any

import httpx

from tests.dashboard.conftest import User, user
from tests.public.waitlisting import join
from tests.support import ApiClient, Tenant


def _world(api: ApiClient) -> tuple[Tenant, User, str, dict[str, Any]]:
    tenant = api.tenant()
    owner = user(api, tenant)
    event = tenant.make_event()
    ga = tenant.make_ticket_class(event["id"], name="GA", quantity_total=3)
    return tenant, owner, event["id"], ga


def _csv_rows(body: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body)))


def test_the_export_button_carries_the_tables_filters_and_streams_the_apis_csv(
    api: ApiClient,
) -> None:
    tenant, owner, event_id, ga = _world(api)
    vip = tenant.make_ticket_class(event_id, name="VIP")
    for email, class_id in (("ann@example.com", ga["id"]), ("bob@example.com", vip["id"])):
        assert tenant.make_attendees(event_id, class_id, email).status_code == 201
    pending = tenant.make_attendees(
        event_id, ga["id"], "pat@example.com", status="pending_approval"
    )
    assert pending.status_code == 201
    table = owner.get(
        f"/dashboard/events/{event_id}/attendees",
        params={"q": "example", "status": "attending", "ticket_class_id": ga["id"]},
    )
    link = re.search(r'id="export-csv" download href="([^"]+)"', table.text)
    assert link, table.text
    href = unescape(link.group(1))
    assert f"ticket_class_id={ga['id']}" in href and "status=attending" in href
    exported = owner.get(href)
    assert exported.status_code == 200
    assert exported.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in exported.headers["content-disposition"]
    assert "default-src 'self'" in exported.headers["content-security-policy"]
    rows = _csv_rows(exported.text)
    assert [r["email"] for r in rows] == ["ann@example.com"]
    # The same file the API gives for the same filters.
    api_csv = tenant.get(
        f"/api/v1/events/{event_id}/attendees/export",
        params={"status": "valid,checked_in", "ticket_class_id": ga["id"], "q": "example"},
    )
    assert api_csv.text == exported.text
    everyone = owner.get(f"/dashboard/events/{event_id}/attendees/export?status=all")
    assert {r["email"] for r in _csv_rows(everyone.text)} == {
        "ann@example.com",
        "bob@example.com",
        "pat@example.com",
    }


FILE = (
    "\ufeffEmail,First Name,ticket_class_name,quantity\r\n"
    "one@example.com,One,GA,1\r\n"
    "bad-address,Two,GA,1\r\n"
    "three@example.com,Three,GA,1\r\n"
    "four@example.com,Four,Nope,1\r\n"
).encode()


def _upload(owner: User, event_id: str, data: bytes, name: str = "guests.csv") -> httpx.Response:
    return owner.request(
        "POST",
        f"/dashboard/events/{event_id}/attendees/import/preview",
        data={"csrf_token": owner.csrf},
        files={"file": (name, data, "text/csv")},
    )


def _confirm_form(html: str) -> dict[str, str]:
    form = html[html.index('id="import-confirm"') :]
    found = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', form))
    return {k: unescape(v) for k, v in found.items()}


def _results(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<tr data-row="(\d+)" data-status="([a-z]+)">', html)


def test_import_previews_then_imports_once(api: ApiClient) -> None:
    tenant, owner, event_id, _ = _world(api)
    page = owner.get(f"/dashboard/events/{event_id}/attendees/import")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.text
    preview = _upload(owner, event_id, FILE)
    assert preview.status_code == 200, preview.text
    assert _results(preview.text) == [
        ("2", "created"),
        ("3", "failed"),
        ("4", "created"),
        ("5", "failed"),
    ]
    assert "<strong>2</strong> would be created, <strong>2</strong> would fail" in preview.text
    assert "Ticket class not found" in preview.text
    assert api.count("tickets") == 0  # a preview writes nothing
    confirm = _confirm_form(preview.text)
    assert base64.b64decode(confirm["file_data"]) == FILE
    assert confirm["idempotency_key"].startswith("dash_import_")
    url = f"/dashboard/events/{event_id}/attendees/import/confirm"
    done = owner.request("POST", url, files={k: (None, v) for k, v in confirm.items()})
    assert done.status_code == 200, done.text
    assert "2 rows created, 2 failed" in done.text
    assert _results(done.text) == _results(preview.text)
    assert api.count("tickets") == 2
    # The same confirm again (a double click, a browser retry): the stored outcome, no rows.
    again = owner.request("POST", url, files={k: (None, v) for k, v in confirm.items()})
    assert again.status_code == 200 and "2 rows created, 2 failed" in again.text
    assert api.count("tickets") == 2
    listed = tenant.get(f"/api/v1/events/{event_id}/attendees").json()["data"]
    assert {a["email"] for a in listed} == {"one@example.com", "three@example.com"}


def test_two_confirms_at_once_import_once(api: ApiClient) -> None:
    _, owner, event_id, _ = _world(api)
    confirm = _confirm_form(_upload(owner, event_id, FILE).text)
    url = f"{api.client.base_url!s}/dashboard/events/{event_id}/attendees/import/confirm"
    answers: list[httpx.Response] = []

    def submit() -> None:
        answers.append(
            api.client.post(
                url,
                files={k: (None, v) for k, v in confirm.items()},
                follow_redirects=False,
                headers={"cookie": f"tessera_session={owner.token}"},
            )
        )

    threads = [threading.Thread(target=submit) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert all("2 rows created, 2 failed" in a.text for a in answers)
    assert api.count("tickets") == 2


def test_a_refused_file_is_explained_on_the_upload_page(api: ApiClient) -> None:
    _, owner, event_id, _ = _world(api)
    missing = _upload(owner, event_id, b"first_name\r\nAnn\r\n")
    assert missing.status_code == 400
    assert "Missing columns: email, ticket_class_id or ticket_class_name" in unescape(missing.text)
    wrong_encoding = _upload(
        owner, event_id, "email,ticket_class_name\r\nzoë@x.org,GA\r\n".encode("latin-1")
    )
    assert wrong_encoding.status_code in (400, 415)
    assert 'id="import-message"' in wrong_encoding.text
    empty = _upload(owner, event_id, b"")
    assert empty.status_code == 400 and "Choose a CSV file" in empty.text
    forged = owner.request(
        "POST",
        f"/dashboard/events/{event_id}/attendees/import/confirm",
        files={
            "csrf_token": (None, owner.csrf),
            "file_data": (None, "!!"),
            "idempotency_key": (None, "dash_import_x"),
        },
    )
    assert forged.status_code == 400
    assert api.count("tickets") == 0


def test_door_staff_can_neither_export_nor_import(api: ApiClient) -> None:
    tenant, _, event_id, _ = _world(api)
    door = user(api, tenant, "door", "door@example.com")
    assert door.get(f"/dashboard/events/{event_id}/attendees/export").status_code == 403
    assert door.get(f"/dashboard/events/{event_id}/attendees/import").status_code == 403
    assert _upload(door, event_id, FILE).status_code == 403
    assert door.get(f"/dashboard/events/{event_id}/waitlist").status_code == 403
    table = door.get(f"/dashboard/events/{event_id}/attendees")
    assert table.status_code == 200 and 'id="export-csv"' not in table.text


def test_the_waitlist_page_shows_the_apis_entries_in_line_order(api: ApiClient) -> None:
    tenant, owner, event_id, _ = _world(api)
    small = tenant.make_ticket_class(event_id, name="Tiny", quantity_total=1)
    assert tenant.make_attendees(event_id, small["id"], "seat@example.com").status_code == 201
    for email in ("first@example.com", "second@example.com"):
        assert join(tenant, event_id, small["id"], email).status_code == 303
    page = owner.get(f"/dashboard/events/{event_id}/waitlist")
    assert page.status_code == 200, page.text
    listed = tenant.get(f"/api/v1/events/{event_id}/waitlist").json()["data"]
    rows = re.findall(
        r'<tr data-entry-id="([^"]+)" data-status="([a-z]+)">\s*<td>(\d+)</td>', page.text
    )
    assert rows == [(e["id"], e["status"], str(e["position"])) for e in listed]
    assert [e["email"] for e in listed] == ["first@example.com", "second@example.com"]
    assert "second@example.com" in page.text and "Tiny" in page.text
    none_left = owner.get(f"/dashboard/events/{event_id}/waitlist?status=left")
    assert "Nobody is on this waitlist." in none_left.text


def test_the_waitlist_page_changes_how_long_offers_stay_open(api: ApiClient) -> None:
    tenant, owner, event_id, _ = _world(api)
    page = owner.get(f"/dashboard/events/{event_id}/waitlist")
    assert 'name="offer_hours" type="number" min="1" max="720" required value="48"' in page.text
    url = f"/dashboard/events/{event_id}/waitlist/settings"
    refused = owner.post(url, {"offer_hours": "0"})
    assert refused.status_code == 400
    assert 'id="offer_hours-error">Enter a whole number of hours from 1 to 720.' in refused.text
    assert 'value="0" aria-invalid="true"' in refused.text
    saved = owner.post(url, {"offer_hours": "12"})
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/dashboard/events/{event_id}/waitlist?saved=1"
    shown = tenant.get(f"/api/v1/events/{event_id}/waitlist/settings").json()["data"]
    assert shown == {"offer_hours": 12}
    assert "Saved: offers made from now on" in owner.get(saved.headers["location"]).text
    door = user(api, tenant, "door", "door-wl@example.com")
    assert door.post(url, {"offer_hours": "5"}).status_code == 403
    assert tenant.get(f"/api/v1/events/{event_id}/waitlist/settings").json()["data"] == shown
