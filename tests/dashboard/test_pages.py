"""The dashboard's pages and actions over HTTP (SQLite and PostgreSQL): events and classes,
the attendee table and one attendee, check-in, keys, webhooks and the team."""

from __future__ import annotations

import pytest

from tests.dashboard.conftest import User, sign_in, user
from tests.support import ApiClient, Tenant


def _owner(api: ApiClient) -> tuple[Tenant, User]:
    tenant = api.tenant()
    return tenant, user(api, tenant)


def test_events_are_created_edited_and_closed(api: ApiClient) -> None:
    tenant, owner = _owner(api)
    bad = owner.post(
        "/dashboard/events/new",
        {"name": "", "start": "soon", "timezone": "Mars/X", "location": "Hall"},
    )
    assert bad.status_code == 400 and 'class="field-error"' in bad.text
    made = owner.post(
        "/dashboard/events/new",
        {
            "name": "Gala",
            "start": "2027-07-15T18:00",
            "timezone": "Europe/Paris",
            "location": "Hall",
            "capacity": "2",
            "ticket_price": "12.50",
            "currency": "eur",
        },
    )
    assert made.status_code == 303
    event_id = made.headers["location"].rsplit("/", 1)[1]
    event = tenant.get(f"/api/v1/events/{event_id}").json()["data"]
    assert event["start"] == {"utc": "2027-07-15T16:00:00.000Z", "timezone": "Europe/Paris"}
    ga = tenant.general_admission(event_id)
    assert ga["cost"] == "12.50"
    assert tenant.make_attendees(event_id, ga["id"], quantity=2).status_code == 201
    lower = owner.post(
        f"/dashboard/events/{event_id}/edit",
        {
            "name": "Gala 2",
            "start": "2027-07-15T18:00",
            "timezone": "Europe/Paris",
            "location": "Hall",
            "capacity": "1",
        },
    )
    assert lower.status_code == 409 and "seats already taken" in lower.text
    renamed = owner.post(
        f"/dashboard/events/{event_id}/edit",
        {
            "name": "Gala 2",
            "start": "2027-07-15T19:00",
            "timezone": "Europe/Paris",
            "location": "Hall",
            "capacity": "5",
        },
    )
    assert renamed.status_code == 303
    assert tenant.get(f"/api/v1/events/{event_id}").json()["data"]["name"] == "Gala 2"
    closed = owner.post(
        f"/dashboard/events/{event_id}/registration", {"registration_status": "closed"}
    )
    assert closed.status_code == 303
    event = tenant.get(f"/api/v1/events/{event_id}").json()["data"]
    assert event["registration_status"] == "closed"
    listing = owner.get("/dashboard").text
    assert "Gala 2" in listing and "2 / 5" in listing


def test_ticket_classes_follow_the_api_rules(api: ApiClient) -> None:
    tenant, owner = _owner(api)
    event = tenant.make_event()
    base = f"/dashboard/events/{event['id']}"
    assert (
        owner.post(
            f"{base}/ticket-classes", {"name": "VIP", "quantity_total": "4", "cost": "20"}
        ).status_code
        == 303
    )
    duplicate = owner.post(f"{base}/ticket-classes", {"name": "VIP"})
    assert duplicate.status_code == 409 and "already exists" in duplicate.text
    vip = next(
        c
        for c in tenant.get(f"/api/v1/events/{event['id']}/ticket-classes").json()["data"]
        if c["name"] == "VIP"
    )
    assert tenant.make_attendees(event["id"], vip["id"], quantity=1).status_code == 201
    page = owner.get(base).text
    assert "<td>3</td>" in page  # seats left
    lower = owner.post(
        f"{base}/ticket-classes/{vip['id']}", {"name": "VIP", "quantity_total": "0", "cost": "20"}
    )
    assert lower.status_code == 303  # 0 = unlimited
    refused = owner.post(f"{base}/ticket-classes/{vip['id']}/delete")
    assert refused.status_code == 409
    assert "Cannot delete a ticket class with sold tickets: 1 ticket(s)" in refused.text
    ga = tenant.general_admission(event["id"])
    assert owner.post(f"{base}/ticket-classes/{ga['id']}/delete").status_code == 303
    assert owner.get(f"{base}/ticket-classes/{ga['id']}").status_code == 404


def test_the_attendee_table_searches_filters_sorts_and_pages(api: ApiClient) -> None:
    tenant, owner = _owner(api)
    event = tenant.make_event()
    ga = tenant.general_admission(event["id"])
    other = tenant.make_ticket_class(event["id"], name="Other")
    for n in range(55):
        email = f"p{n:02d}@example.com"
        contact = {"email": email, "first_name": "P", "last_name": f"Z{n:02d}"}
        assert tenant.make_attendees(event["id"], ga["id"], contact=contact).status_code == 201
    tenant.make_attendees(
        event["id"],
        other["id"],
        status="pending_approval",
        contact={"email": "zoe@example.com", "last_name": "Adams"},
    )
    url = f"/dashboard/events/{event['id']}/attendees"
    first = owner.get(url).text
    assert "55 attendees" in first and "Page 1 of 2" in first and "p00@example.com" in first
    assert "p54@example.com" not in first
    second = owner.get(url + "?page=2").text
    assert "p54@example.com" in second and "p00@example.com" not in second
    newest = owner.get(url + "?sort=-created").text
    assert newest.index("p54@example.com") < newest.index("p53@example.com")
    found = owner.get(url + "?q=P07").text
    assert "1 attendee<" in found and "p07@example.com" in found
    pending = owner.get(url + "?status=pending_approval").text
    assert "zoe@example.com" in pending and "p00@example.com" not in pending
    by_class = owner.get(url + f"?status=all&ticket_class_id={other['id']}").text
    assert "1 attendee<" in by_class
    by_name = owner.get(url + "?status=all&sort=name").text
    assert by_name.index("zoe@example.com") < by_name.index("p00@example.com")
    partial = owner.get(url + "?q=p07", headers={"HX-Request": "true"}).text
    assert "<html" not in partial and "p07@example.com" in partial


def test_attendee_actions_and_history(api: ApiClient) -> None:
    tenant, owner = _owner(api)
    event = tenant.make_event()
    ga = tenant.general_admission(event["id"])
    made = tenant.make_attendees(event["id"], ga["id"], status="pending_approval")
    ticket = made.json()["data"][0]
    base = f"/dashboard/events/{event['id']}/attendees/{ticket['id']}"
    for action, status in (("approve", "valid"), ("check_in", "checked_in")):
        done = owner.post(f"{base}/{action}")
        assert done.status_code == 303
        shown = tenant.get(f"/api/v1/events/{event['id']}/attendees/{ticket['id']}").json()
        assert shown["data"]["status"] == status
    assert owner.post(f"{base}/resend").status_code == 303
    assert api.count("outbox", "topic = $1", "attendee.confirmation") == 1
    page = owner.get(base + "?done=resend").text
    assert "Confirmation email queued." in page
    assert "issued as Pending approval" in page
    assert f"Pending approval → Valid · by {owner.email}" in page
    assert f"Valid → Checked in · by {owner.email}" in page
    assert owner.post(f"{base}/delete").status_code == 303
    again = owner.post(f"{base}/approve")
    assert again.status_code == 422 and "deleted is final" in again.text
    assert owner.post(f"{base}/nonsense").status_code == 404


def test_check_in_by_scan_and_by_search(api: ApiClient) -> None:
    tenant, _ = _owner(api)
    door = user(api, tenant, "door")
    event = tenant.make_event(
        start={"utc": "2027-07-15T18:00", "timezone": "Europe/Paris"}, end=None
    )
    ga = tenant.general_admission(event["id"])
    made = tenant.make_attendees(event["id"], ga["id"], quantity=3).json()["data"]
    tenant.patch(f"/api/v1/events/{event['id']}/attendees/{made[2]['id']}", {"status": "rejected"})
    scan = f"/dashboard/events/{event['id']}/check-in/scan"
    ok = door.post(scan, {"barcode": made[0]["barcode"]})
    assert ok.status_code == 200 and 'data-outcome="ok"' in ok.text and ">Checked in<" in ok.text
    assert '<span id="checked-in-count">1</span>' in ok.text
    assert '<span id="expected-count">2</span>' in ok.text
    at = tenant.get(f"/api/v1/events/{event['id']}/attendees/{made[0]['id']}").json()
    again = door.post(scan, {"barcode": made[0]["barcode"]})
    assert 'data-outcome="already"' in again.text
    from tessera.dashboard.pages import iso_local

    local = iso_local(at["data"]["checked_in_at"], "Europe/Paris", "%H:%M")
    assert f"Already checked in at {local}" in again.text
    assert api.count("ticket_status_changes", "ticket_id = $1", made[0]["id"]) == 1
    invalid = door.post(scan, {"barcode": made[2]["barcode"]})
    assert "Not valid: rejected" in invalid.text
    unknown = door.post(scan, {"barcode": "NOSUCHCODE"})
    assert "Not valid: unknown ticket" in unknown.text
    found = door.get(f"/dashboard/events/{event['id']}/check-in/search?q=jane").text
    assert found.count("<li") == 3
    by_id = door.post(f"/dashboard/events/{event['id']}/check-in/attendees/{made[1]['id']}")
    assert 'data-outcome="ok"' in by_id.text
    counts = door.get(f"/dashboard/events/{event['id']}/check-in/counts").text
    assert '<span id="checked-in-count">2</span>' in counts


def test_api_keys_are_shown_once_and_revoked(api: ApiClient) -> None:
    _tenant, owner = _owner(api)
    made = owner.post(
        "/dashboard/api-keys", {"name": "crm", "scope_events": "read", "scope_attendees": "write"}
    )
    assert made.status_code == 201
    import re

    secret = re.search(r'id="new-key">([^<]+)<', made.text)
    assert secret
    listing = owner.get("/dashboard/api-keys").text
    assert secret.group(1) not in listing and "events:read" in listing
    client = api.client
    assert client.get("/api/v1/events", headers={"X-API-KEY": secret.group(1)}).status_code == 200
    scoped = client.get("/api/v1/contacts", headers={"X-API-KEY": secret.group(1)})
    assert scoped.status_code == 403
    key_id = re.findall(r"/dashboard/api-keys/(key_\w+)/revoke", listing)
    assert owner.post(f"/dashboard/api-keys/{key_id[-1]}/revoke").status_code == 303
    assert client.get("/api/v1/events", headers={"X-API-KEY": secret.group(1)}).status_code == 401


def test_webhook_endpoints_are_managed(api: ApiClient) -> None:
    tenant, owner = _owner(api)
    made = owner.post(
        "/dashboard/webhooks", {"url": "http://127.0.0.1:9/hook", "events": ["attendee.created"]}
    )
    assert made.status_code == 201 and "whsec_" in made.text
    endpoint = tenant.get("/api/v1/webhook-endpoints").json()["data"][0]
    assert endpoint["events"] == ["attendee.created"]
    assert "whsec_" not in owner.get("/dashboard/webhooks").text
    off = owner.post(f"/dashboard/webhooks/{endpoint['id']}/enabled", {"enabled": "false"})
    assert off.status_code == 303
    assert (
        tenant.get(f"/api/v1/webhook-endpoints/{endpoint['id']}").json()["data"]["enabled"] is False
    )
    assert (
        owner.post(f"/dashboard/webhooks/{endpoint['id']}/enabled", {"enabled": "true"}).status_code
        == 303
    )
    event = tenant.make_event()
    tenant.make_attendees(event["id"], tenant.general_admission(event["id"])["id"])
    api.deliver_outbox()
    page = owner.get(f"/dashboard/webhooks/{endpoint['id']}").text
    assert "attendee.created" in page and "Redeliver" in page
    import re

    delivery = re.search(r"/deliveries/(whd_\w+)/redeliver", page)
    assert delivery
    again = owner.post(
        f"/dashboard/webhooks/{endpoint['id']}/deliveries/{delivery.group(1)}/redeliver"
    )
    assert again.status_code == 303
    bad = owner.post("/dashboard/webhooks", {"url": "ftp://x"})
    assert bad.status_code == 400


def test_owners_manage_the_team(api: ApiClient) -> None:
    tenant, owner = _owner(api)
    added = owner.post("/dashboard/team", {"email": "New@Example.com", "role": "door"})
    assert added.status_code == 201
    import re

    password = re.search(r'id="new-password">([^<]+)<', added.text)
    assert password
    signed = sign_in(api, "new@example.com", password.group(1))
    assert signed.status_code == 303
    door = User(
        api,
        "new@example.com",
        tenant.organization_id,
        "door",
        token=signed.cookies["tessera_session"],
    )
    assert door.get("/dashboard/api-keys").status_code == 403
    again = owner.post("/dashboard/team", {"email": "new@example.com", "role": "admin"})
    assert again.status_code == 409
    page = owner.get("/dashboard/team").text
    member_id = re.search(r"/dashboard/team/(usr_\w+)/remove", page)
    assert member_id
    assert (
        owner.post(f"/dashboard/team/{member_id.group(1)}/role", {"role": "admin"}).status_code
        == 303
    )
    assert door.get("/dashboard/api-keys").status_code == 200  # the role applies at once
    owner_id = re.findall(r"/dashboard/team/(usr_\w+)/role", page)[0]
    last = owner.post(f"/dashboard/team/{owner_id}/role", {"role": "admin"})
    assert last.status_code == 409 and "at least one owner" in last.text
    assert owner.post(f"/dashboard/team/{member_id.group(1)}/remove").status_code == 303
    assert door.get("/dashboard").status_code == 303  # removed: signed out of this organization


def test_a_search_matching_many_contacts_pages_without_counting(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tessera.attendee import search

    # The dense branch starts past the cap of matching contacts; a small cap reaches it here.
    monkeypatch.setattr(search, "SEARCH_CONTACTS_CAP", 3)
    tenant, owner = _owner(api)
    event = tenant.make_event()
    ga = tenant.general_admission(event["id"])
    for n in range(5):
        contact = {"email": f"many{n}@example.com", "last_name": "Many"}
        assert tenant.make_attendees(event["id"], ga["id"], contact=contact).status_code == 201
    url = f"/dashboard/events/{event['id']}/attendees?q=MANY"
    dense = owner.get(url).text
    assert "Many attendees match" in dense and dense.count("@example.com</td>") == 5
    sparse = owner.get(f"/dashboard/events/{event['id']}/attendees?q=many3").text
    assert "1 attendee<" in sparse and "many3@example.com" in sparse


def test_two_scanners_reading_one_ticket_at_once_check_it_in_once(api: ApiClient) -> None:
    import threading

    tenant, owner = _owner(api)
    event = tenant.make_event()
    ga = tenant.general_admission(event["id"])
    ticket = tenant.make_attendees(event["id"], ga["id"]).json()["data"][0]
    url = f"{api.client.base_url!s}/dashboard/events/{event['id']}/check-in/scan"
    outcomes: list[str] = []

    def scan() -> None:
        response = api.client.post(
            url,
            data={"barcode": ticket["barcode"], "csrf_token": owner.csrf},
            headers={"cookie": f"tessera_session={owner.token}"},
        )
        outcomes.append(response.text.split('data-outcome="', 1)[1].split('"', 1)[0])

    threads = [threading.Thread(target=scan) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["already", "already", "already", "ok"]
    assert api.count("ticket_status_changes", "ticket_id = $1", ticket["id"]) == 1


def test_status_changes_made_through_the_api_are_in_the_history(api: ApiClient) -> None:
    tenant, owner = _owner(api)
    event = tenant.make_event()
    ga = tenant.general_admission(event["id"])
    first, second = tenant.make_attendees(event["id"], ga["id"], quantity=2).json()["data"]
    base = f"/api/v1/events/{event['id']}"
    assert tenant.patch(
        f"{base}/attendees/{first['id']}", {"status": "pending_approval"}
    ).is_success
    assert tenant.post(f"{base}/check-ins", {"barcode": second["barcode"]}).is_success
    assert tenant.delete(f"{base}/attendees/{second['id']}").is_success
    page = owner.get(f"/dashboard/events/{event['id']}/attendees/{first['id']}").text
    assert "issued as Valid" in page and "Valid → Pending approval · through the API" in page
    page = owner.get(f"/dashboard/events/{event['id']}/attendees/{second['id']}").text
    assert "Valid → Checked in" in page and "Checked in → Deleted" in page
    assert api.count("ticket_status_changes") == 3


def test_editing_an_event_keeps_its_venue_unless_the_place_changes(api: ApiClient) -> None:
    tenant, owner = _owner(api)
    venue = {"name": "Pier 4", "address": "1 Harbor Way", "city": "Boston", "country": "US"}
    event = tenant.make_event(location=venue)
    form = {
        "name": "Renamed",
        "start": "2027-07-15T18:00",
        "end": "2027-07-15T23:00",
        "timezone": "America/New_York",
        "location": "Pier 4",
        "capacity": "0",
    }
    assert owner.post(f"/dashboard/events/{event['id']}/edit", form).status_code == 303
    shown = tenant.get(f"/api/v1/events/{event['id']}").json()["data"]
    assert shown["name"] == "Renamed"
    assert shown["venue"]["address"] == "1 Harbor Way" and shown["venue"]["city"] == "Boston"
    form["location"] = "Dock 9"
    assert owner.post(f"/dashboard/events/{event['id']}/edit", form).status_code == 303
    shown = tenant.get(f"/api/v1/events/{event['id']}").json()["data"]
    assert shown["venue"] == {
        "name": "Dock 9",
        "address": None,
        "city": None,
        "state": None,
        "country": None,
    }
