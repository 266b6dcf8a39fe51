"""The waitlist (SPEC §9): joining, offers made by the outbox worker, claims, expiry."""

from __future__ import annotations

from typing import Any

from tests.public.support import class_state, csrf_tokens
from tests.public.waitlisting import (
    answer,
    by_email,
    claim_link,
    claim_token,
    entries,
    join,
    subjects,
)
from tests.support import ApiClient, FakeClock, Tenant

HOUR = 3600 * 1_000_000


def sold_out(api: ApiClient, seats: int = 2, **event: Any) -> tuple[Tenant, dict, dict, list]:
    """An event whose General Admission (``seats``) is full; returns the holders' tickets."""
    acme = api.tenant()
    created = acme.make_event(**event)
    ga = acme.general_admission(created["id"])
    path = f"/api/v1/events/{created['id']}/ticket-classes/{ga['id']}"
    assert acme.patch(path, {"quantity_total": seats}).status_code == 200
    holders = []
    for i in range(seats):
        response = acme.make_attendees(created["id"], ga["id"], f"holder{i}@example.com")
        holders.append(response.json()["data"][0])
    return acme, created, ga, holders


def line_up(acme: Tenant, event_id: str, class_id: str, *names: str) -> None:
    for name in names:
        response = join(acme, event_id, class_id, f"{name}@example.com")
        assert response.status_code == 303, response.text
        assert response.headers["location"] == f"/e/{event_id}/waitlist/joined"


def free_a_seat(acme: Tenant, event_id: str, ticket: dict, status: str = "deleted") -> None:
    path = f"/api/v1/events/{event_id}/attendees/{ticket['id']}"
    assert acme.patch(path, {"status": status}).status_code == 200


def test_joining_a_sold_out_class(api: ApiClient, settings: Any) -> None:
    acme, event, ga, _ = sold_out(api)
    line_up(acme, event["id"], ga["id"], "wanda", "walt")
    again = join(acme, event["id"], ga["id"], "WANDA@example.com")
    assert again.headers["location"].endswith("?already=1")
    listed = entries(acme, event["id"])
    assert [(e["email"], e["status"], e["position"]) for e in listed] == [
        ("wanda@example.com", "waiting", 1),
        ("walt@example.com", "waiting", 2),
    ]
    first = listed[0]
    assert first["id"].startswith("wle_") and first["ticket_class_id"] == ga["id"]
    assert first["first_name"] == "Wanda" and first["last_name"] == "Waiting"
    assert first["offered_at"] is None and first["attendee_id"] is None
    joined = api.client.get(f"/e/{event['id']}/waitlist/joined")
    assert "on the waitlist" in joined.text
    api.deliver_outbox()  # nothing is free: no offer
    assert [e["status"] for e in entries(acme, event["id"])] == ["waiting", "waiting"]
    assert subjects(settings.mail_dir, "wanda@example.com") == [
        "You're on the waitlist for Summer Conference"
    ]


def test_a_class_with_seats_has_no_waitlist(api: ApiClient) -> None:
    acme = api.tenant()
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    page = api.client.get(f"/e/{event['id']}")
    token = csrf_tokens(page.text)[0]
    body = {"csrf_token": token, "ticket_class_id": ga["id"], "first_name": "W", "email": "w@x.io"}
    response = api.client.post(f"/e/{event['id']}/waitlist", data=body)
    assert response.status_code == 409
    assert "not sold out" in response.text
    assert api.count("waitlist_entries") == 0


def test_bad_waitlist_fields_rerender_beside_the_field(api: ApiClient) -> None:
    acme, event, ga, _ = sold_out(api, seats=1)
    response = join(acme, event["id"], ga["id"], "nope")
    assert response.status_code == 400
    assert "Enter a valid email address" in response.text
    assert api.count("waitlist_entries") == 0


def test_a_freed_seat_goes_to_the_first_in_line_who_claims_it(
    api: ApiClient, settings: Any
) -> None:
    acme, event, ga, holders = sold_out(api)
    line_up(acme, event["id"], ga["id"], "wanda", "walt")
    free_a_seat(acme, event["id"], holders[0])
    # Until the worker runs, the freed seat is owed to the line: the page still says sold out.
    assert class_state(api.client.get(f"/e/{event['id']}").text, ga["id"]) == "sold_out"
    api.deliver_outbox()
    listed = by_email(acme, event["id"])
    wanda, walt = listed["wanda@example.com"], listed["walt@example.com"]
    assert wanda["status"] == "offered" and walt["status"] == "waiting"
    assert wanda["position"] == 1 and walt["position"] == 2
    invited = acme.get(f"/api/v1/events/{event['id']}/attendees/{wanda['attendee_id']}").json()
    assert invited["data"]["status"] == "invited"  # holds no seat
    assert acme.get(f"/api/v1/events/{event['id']}").json()["data"]["tickets_sold"] == 1
    offered_at = wanda["offered_at"]
    assert wanda["offer_expires_at"] > offered_at
    assert subjects(settings.mail_dir, "wanda@example.com")[-1].startswith(
        "A seat at Summer Conference is yours: claim it by "
    )
    link = claim_link(settings.mail_dir, "wanda@example.com")
    token = claim_token(api, wanda["id"])
    assert link.endswith(f"/e/{event['id']}/claim/{token}")

    page = api.client.get(f"/e/{event['id']}/claim/{token}")
    assert page.status_code == 200 and "A seat is yours" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    claimed = answer(api, event["id"], token, "claim")
    assert claimed.status_code == 303
    assert claimed.headers["location"] == f"/t/{invited['data']['payment_id']}"
    ticket = acme.get(f"/api/v1/events/{event['id']}/attendees/{wanda['attendee_id']}").json()
    assert ticket["data"]["status"] == "valid"
    assert by_email(acme, event["id"])["wanda@example.com"]["status"] == "claimed"
    assert acme.get(f"/api/v1/events/{event['id']}").json()["data"]["tickets_sold"] == 2
    assert api.count("outbox", "topic = 'attendee.confirmation'") == 1
    # A second claim (the back button) changes nothing.
    form_token = csrf_tokens(api.client.get(f"/e/{event['id']}").text)[-1]
    again = api.client.post(
        f"/e/{event['id']}/claim/{token}", data={"csrf_token": form_token, "action": "claim"}
    )
    assert again.status_code == 409
    assert "You claimed your seat" in again.text
    assert "You claimed your seat" in api.client.get(f"/e/{event['id']}/claim/{token}").text
    api.deliver_outbox()
    assert by_email(acme, event["id"])["walt@example.com"]["status"] == "waiting"


def test_the_worker_offers_exactly_once_per_free_seat(api: ApiClient) -> None:
    acme, event, ga, holders = sold_out(api, seats=3)
    line_up(acme, event["id"], ga["id"], "a", "b", "c", "d")
    free_a_seat(acme, event["id"], holders[0])
    free_a_seat(acme, event["id"], holders[1], "rejected")
    assert api.count("outbox", "topic = 'waitlist.check'") >= 2
    api.deliver_outbox()
    api.deliver_outbox()
    statuses = [e["status"] for e in entries(acme, event["id"])]
    assert statuses == ["offered", "offered", "waiting", "waiting"]
    assert api.count("tickets", "status = 'invited'") == 2


def test_a_claim_that_finds_the_class_full_keeps_its_place(api: ApiClient) -> None:
    acme, event, ga, holders = sold_out(api)
    line_up(acme, event["id"], ga["id"], "wanda", "walt")
    free_a_seat(acme, event["id"], holders[0])
    api.deliver_outbox()
    wanda = by_email(acme, event["id"])["wanda@example.com"]
    # The organizer adds someone by hand (the API is not bound by the line): the class is full.
    assert acme.make_attendees(event["id"], ga["id"], "vip@example.com").status_code == 201
    token = claim_token(api, wanda["id"])
    refused = answer(api, event["id"], token, "claim")
    assert refused.status_code == 409
    assert "still first in line" in refused.text
    listed = entries(acme, event["id"])
    assert [(e["email"], e["status"], e["position"]) for e in listed] == [
        ("wanda@example.com", "waiting", 1),
        ("walt@example.com", "waiting", 2),
    ]
    # The next seat goes to her again, on the same invited ticket.
    vip = acme.get(f"/api/v1/events/{event['id']}/attendees?email=vip@example.com").json()
    free_a_seat(acme, event["id"], vip["data"][0])
    api.deliver_outbox()
    again = by_email(acme, event["id"])["wanda@example.com"]
    assert again["status"] == "offered" and again["attendee_id"] == wanda["attendee_id"]
    assert answer(api, event["id"], token, "").status_code == 303  # claim: the default


def test_a_declined_offer_passes_to_the_next(api: ApiClient, settings: Any) -> None:
    acme, event, ga, holders = sold_out(api)
    line_up(acme, event["id"], ga["id"], "wanda", "walt")
    free_a_seat(acme, event["id"], holders[0])
    api.deliver_outbox()
    wanda = by_email(acme, event["id"])["wanda@example.com"]
    declined = answer(api, event["id"], claim_token(api, wanda["id"]), "decline")
    assert declined.status_code == 303
    api.deliver_outbox()
    listed = by_email(acme, event["id"])
    assert listed["wanda@example.com"]["status"] == "left"
    assert listed["wanda@example.com"]["position"] is None
    assert listed["walt@example.com"]["status"] == "offered"
    ticket = acme.get(f"/api/v1/events/{event['id']}/attendees/{wanda['attendee_id']}").json()
    assert ticket["data"]["status"] == "deleted"
    assert claim_link(settings.mail_dir, "walt@example.com")


def test_an_expired_offer_passes_to_the_next(
    api: ApiClient, clock: FakeClock, settings: Any
) -> None:
    acme, event, ga, holders = sold_out(api)
    line_up(acme, event["id"], ga["id"], "wanda", "walt")
    free_a_seat(acme, event["id"], holders[0])
    api.deliver_outbox()
    wanda = by_email(acme, event["id"])["wanda@example.com"]
    clock.advance(hours=47)
    api.deliver_outbox()
    assert by_email(acme, event["id"])["wanda@example.com"]["status"] == "offered"
    clock.advance(hours=1.01)
    api.deliver_outbox()
    listed = by_email(acme, event["id"])
    assert listed["wanda@example.com"]["status"] == "expired"
    assert listed["walt@example.com"]["status"] == "offered"
    ticket = acme.get(f"/api/v1/events/{event['id']}/attendees/{wanda['attendee_id']}").json()
    assert ticket["data"]["status"] == "deleted"
    assert subjects(settings.mail_dir, "wanda@example.com")[-1] == (
        "Your offer for Summer Conference expired"
    )
    late = api.client.get(f"/e/{event['id']}/claim/{claim_token(api, wanda['id'])}")
    assert late.status_code == 200 and "This offer expired" in late.text
    # She may join again, at the end of the line.
    line_up(acme, event["id"], ga["id"], "wanda")
    assert by_email(acme, event["id"])["wanda@example.com"]["position"] == 2


def test_offer_hours_are_configurable_per_event(api: ApiClient) -> None:
    acme, event, ga, holders = sold_out(api, seats=1)
    path = f"/api/v1/events/{event['id']}/waitlist/settings"
    assert acme.get(path).json() == {"data": {"offer_hours": 48}}
    headers = {"X-API-KEY": acme.key}
    assert api.client.put(path, json={"offer_hours": 0}, headers=headers).status_code == 400
    changed = api.client.put(path, json={"offer_hours": 2}, headers=headers)
    assert changed.status_code == 200 and changed.json() == {"data": {"offer_hours": 2}}
    line_up(acme, event["id"], ga["id"], "wanda")
    free_a_seat(acme, event["id"], holders[0])
    api.deliver_outbox()
    (entry,) = entries(acme, event["id"])

    async def times(conn: Any) -> Any:
        return await conn.fetchrow(
            "SELECT offered_at, offer_expires_at FROM waitlist_entries WHERE id = $1", entry["id"]
        )

    row = api.run(times)
    assert row["offer_expires_at"] - row["offered_at"] == 2 * HOUR


def test_raising_capacity_offers_the_new_seats(api: ApiClient) -> None:
    acme, event, ga, _ = sold_out(api, seats=1, capacity=1)
    line_up(acme, event["id"], ga["id"], "a", "b", "c")
    path = f"/api/v1/events/{event['id']}/ticket-classes/{ga['id']}"
    assert acme.patch(path, {"quantity_total": 3}).status_code == 200
    api.deliver_outbox()  # the event's capacity (1) still binds
    assert [e["status"] for e in entries(acme, event["id"])] == ["waiting"] * 3
    assert acme.patch(f"/api/v1/events/{event['id']}", {"capacity": 0}).status_code == 200
    api.deliver_outbox()
    assert [e["status"] for e in entries(acme, event["id"])] == ["offered", "offered", "waiting"]


def test_without_a_waitlist_freeing_a_seat_queues_nothing(api: ApiClient) -> None:
    acme, event, _, holders = sold_out(api, seats=1)
    free_a_seat(acme, event["id"], holders[0])
    assert api.count("outbox", "kind = 'waitlist'") == 0


def test_waitlist_api_scope_filters_and_tenancy(api: ApiClient) -> None:
    acme, event, ga, holders = sold_out(api, seats=1)
    line_up(acme, event["id"], ga["id"], "a", "b")
    free_a_seat(acme, event["id"], holders[0])
    api.deliver_outbox()
    path = f"/api/v1/events/{event['id']}/waitlist"
    waiting = acme.get(f"{path}?status=waiting").json()
    assert [e["email"] for e in waiting["data"]] == ["b@example.com"]
    assert waiting["pagination"] == {"total": 1, "page": 1, "page_size": 50, "total_pages": 1}
    paged = acme.get(f"{path}?page_size=1&page=2").json()
    assert [e["email"] for e in paged["data"]] == ["b@example.com"]
    assert acme.get(f"{path}?status=bogus").status_code == 400
    assert acme.get(f"{path}?page=0").status_code == 400
    reader = acme.new_key("attendees:read")
    assert reader.get(path).status_code == 200
    assert acme.new_key("events:read").get(path).status_code == 403
    other = api.tenant("Globex")
    hidden = other.get(path)
    assert hidden.status_code == 404 and hidden.json()["error"] == "Event not found"
    assert api.client.get(f"/e/{event['id']}/claim/not-a-real-token").status_code == 404


def test_closed_registration_makes_no_offer_and_takes_no_claim(api: ApiClient) -> None:
    acme, event, ga, holders = sold_out(api)
    line_up(acme, event["id"], ga["id"], "wanda", "walt")
    free_a_seat(acme, event["id"], holders[0])
    api.deliver_outbox()
    wanda = by_email(acme, event["id"])["wanda@example.com"]
    path = f"/api/v1/events/{event['id']}"
    assert acme.patch(path, {"registration_status": "closed"}).status_code == 200
    refused = answer(api, event["id"], claim_token(api, wanda["id"]), "claim")
    assert refused.status_code == 409 and "Registration for this event is closed" in refused.text
    free_a_seat(acme, event["id"], holders[1])
    api.deliver_outbox()
    listed = by_email(acme, event["id"])
    assert listed["wanda@example.com"]["status"] == "offered"
    assert listed["walt@example.com"]["status"] == "waiting"


def test_claiming_where_approval_is_required_awaits_it_and_offers_on(api: ApiClient) -> None:
    acme, event, ga, holders = sold_out(api)
    path = f"/api/v1/events/{event['id']}/ticket-classes/{ga['id']}"
    assert acme.patch(path, {"require_approval": True}).status_code == 200
    line_up(acme, event["id"], ga["id"], "wanda", "walt")
    free_a_seat(acme, event["id"], holders[0])
    api.deliver_outbox()
    wanda = by_email(acme, event["id"])["wanda@example.com"]
    claimed = answer(api, event["id"], claim_token(api, wanda["id"]), "claim")
    assert claimed.status_code == 303
    assert claimed.headers["location"] == f"/e/{event['id']}/pending"
    ticket = acme.get(f"/api/v1/events/{event['id']}/attendees/{wanda['attendee_id']}").json()
    assert ticket["data"]["status"] == "pending_approval"
    api.deliver_outbox()  # the seat is still free until the organizer approves
    listed = by_email(acme, event["id"])
    assert listed["wanda@example.com"]["status"] == "claimed"
    assert listed["walt@example.com"]["status"] == "offered"


def test_erasing_a_contact_erases_their_waitlist_places(api: ApiClient) -> None:
    """GDPR: deleting (erasing) a contact also forgets their waitlist entries in the
    organization — the email and names go, the place leaves the line — and the next person in
    line is first when a seat frees."""
    acme, event, ga, holders = sold_out(api)
    line_up(acme, event["id"], ga["id"], "wanda", "walt")
    contact = acme.post("/api/v1/contacts", {"email": "wanda@example.com", "first_name": "W"})
    assert contact.status_code in (200, 201), contact.text
    deleted = acme.delete(f"/api/v1/contacts/{contact.json()['data']['id']}")
    assert deleted.status_code == 200, deleted.text
    listed = entries(acme, event["id"], "?status=waiting,offered,claimed,expired,left")
    erased = [e for e in listed if e["email"] != "walt@example.com"]
    assert len(erased) == 1 and erased[0]["status"] == "left"
    assert erased[0]["email"].endswith("@erased.invalid") and erased[0]["first_name"] is None
    assert "wanda" not in str(listed)
    free_a_seat(acme, event["id"], holders[0])
    api.deliver_outbox()
    assert by_email(acme, event["id"])["walt@example.com"]["status"] == "offered"
