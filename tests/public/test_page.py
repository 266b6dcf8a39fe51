"""GET /e/{eventId}: the public event page (SPEC §9), on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.public.support import class_state, csrf_tokens
from tests.support import ApiClient


def test_page_shows_the_event_and_each_listed_class(api: ApiClient) -> None:
    acme = api.tenant()
    event = acme.make_event(
        name="Harbor Lights", description="Lanterns & music on the pier.", capacity=100
    )
    ga = acme.general_admission(event["id"])
    acme.patch(f"/api/v1/events/{event['id']}/ticket-classes/{ga['id']}", {"quantity_total": 8})
    vip = acme.make_ticket_class(event["id"], name="VIP", cost="25.00", quantity_total=5)
    later = acme.make_ticket_class(
        event["id"], name="Late bird", sales_start="2099-01-01T12:00:00Z"
    )
    ended = acme.make_ticket_class(event["id"], name="Early bird", sales_end="2020-01-01T00:00:00Z")
    hidden = acme.make_ticket_class(event["id"], name="Crew", hide_on_event_page=True)

    page = api.client.get(f"/e/{event['id']}")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "Harbor Lights" in html
    assert "Lanterns &amp; music on the pier." in html
    assert "Thursday 15 July 2027" in html and "18:00\N{EN DASH}23:00 EDT" in html
    assert "America/New_York" in html
    assert "Main Hall" in html
    assert class_state(html, ga["id"]) == "on_sale" and "8 left" in html
    assert class_state(html, vip["id"]) == "organizer"
    assert "25.00 USD" in html and "available from the organizer" in html
    assert class_state(html, later["id"]) == "not_yet" and "Not on sale yet. On sale from" in html
    assert class_state(html, ended["id"]) == "ended" and "Sales ended" in html
    assert hidden["id"] not in html and "Crew" not in html
    # Only the free class on sale is offered in the form.
    assert f'<option value="{ga["id"]}"' in html
    assert f'<option value="{vip["id"]}"' not in html
    # Link previews, canonical URL, calendar, phone viewport, the reader's-time script.
    canonical = f"http://127.0.0.1:8000/e/{event['id']}"
    assert f'<link rel="canonical" href="{canonical}">' in html
    assert '<meta property="og:title" content="Harbor Lights">' in html
    assert f'<meta property="og:url" content="{canonical}">' in html
    assert '<meta name="twitter:card" content="summary">' in html
    assert 'name="viewport"' in html
    assert f'href="/e/{event["id"]}/event.ics"' in html
    assert '<script src="/e/static/localtime.js" defer></script>' in html
    assert "<script>" not in html  # no inline script
    assert len(csrf_tokens(html)) == 1
    assert "tessera_form=" in page.headers["set-cookie"]
    assert "HttpOnly" in page.headers["set-cookie"]
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"


def test_sold_out_class_and_the_event_capacity(api: ApiClient) -> None:
    acme = api.tenant()
    event = acme.make_event(capacity=2)
    ga = acme.general_admission(event["id"])
    assert "2 left" in api.client.get(f"/e/{event['id']}").text
    assert acme.make_attendees(event["id"], ga["id"], quantity=2).status_code == 201
    html = api.client.get(f"/e/{event['id']}").text
    assert class_state(html, ga["id"]) == "sold_out"
    assert "Sold out" in html
    assert "join the waitlist" in html
    assert len(csrf_tokens(html)) == 1  # only the waitlist's form: nothing to register for


def test_unlimited_class_reads_available(api: ApiClient) -> None:
    acme = api.tenant()
    event = acme.make_event()
    html = api.client.get(f"/e/{event['id']}").text
    assert "Free" in html and "Available" in html


def test_hidden_inactive_and_unknown_events_are_not_found(api: ApiClient) -> None:
    acme = api.tenant()
    hidden = acme.make_event(hidden=True)
    closed = acme.make_event()
    acme.patch(f"/api/v1/events/{closed['id']}", {"status": "inactive"})
    for event_id in (hidden["id"], closed["id"], "NoSuchEventAtAll1234"):
        response = api.client.get(f"/e/{event_id}")
        assert response.status_code == 404
        assert "We couldn't find this event" in response.text
        assert api.client.get(f"/e/{event_id}/event.ics").status_code == 404


def test_online_event_says_online_without_giving_the_link_away(api: ApiClient) -> None:
    acme = api.tenant()
    event = acme.make_event(location="https://meet.example.com/secret-room")
    html = api.client.get(f"/e/{event['id']}").text
    assert "Online event" in html
    assert "secret-room" not in html


def test_calendar_file(api: ApiClient) -> None:
    acme = api.tenant()
    event = acme.make_event(name="Harbor Lights")
    response = api.client.get(f"/e/{event['id']}/event.ics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    assert 'filename="harbor-lights.ics"' in response.headers["content-disposition"]
    text = response.text
    assert "SUMMARY:Harbor Lights" in text
    assert "DTSTART:20270715T220000Z" in text
    assert f"UID:{event['id']}@127.0.0.1" in text


def test_closed_registration_shows_no_form(api: ApiClient) -> None:
    acme = api.tenant()
    event = acme.make_event()
    acme.patch(f"/api/v1/events/{event['id']}", {"registration_status": "closed"})
    html = api.client.get(f"/e/{event['id']}").text
    assert "Registration is closed" in html
    assert csrf_tokens(html) == []


def test_local_time_script_is_served(api: ApiClient) -> None:
    response = api.client.get("/e/static/localtime.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert "Intl.DateTimeFormat" in response.text


def test_every_view_carries_its_own_form_token_and_fresh_seats(api: ApiClient) -> None:
    acme = api.tenant()
    event = acme.make_event(capacity=5)
    ga = acme.general_admission(event["id"])
    first = api.client.get(f"/e/{event['id']}").text
    second = api.client.get(f"/e/{event['id']}").text
    assert csrf_tokens(first) != csrf_tokens(second)
    assert "placeholder" not in second
    assert acme.make_attendees(event["id"], ga["id"]).status_code == 201
    assert "4 left" in api.client.get(f"/e/{event['id']}").text
