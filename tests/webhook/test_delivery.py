"""Delivery to a real HTTP receiver on a loopback port: signatures (checked with the
standardwebhooks library), retries on the fake clock, 410, hangs, ordering, the attempt log,
redeliver, secret rotation and the private-address rule at delivery time."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import datetime
from typing import Any

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from tessera.config import Settings
from tessera.webhook import delivery, destination
from tests.support import ApiClient, FakeClock, Tenant
from tests.webhook.conftest import PATH, deliveries, outbox_rows, register
from tests.webhook.receiver import Receiver


def seconds(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def gap(attempt: dict[str, Any]) -> float:
    """Seconds from an attempt to the next one it scheduled."""
    return seconds(attempt["next_attempt_at"]) - seconds(attempt["created_at"])


def use_handler(api: ApiClient, settings: Settings, clock: FakeClock, **options: Any) -> None:
    """Deliver with a webhook handler built from other settings (a real one, not a double)."""
    db = api.app.state.db  # type: ignore[attr-defined]
    handlers = api.app.state.worker.handlers  # type: ignore[attr-defined]
    handlers["webhook"] = delivery.build_handler(settings, db, clock=clock, **options)


def test_a_new_user_receives_a_verifiable_attendee_created(
    api: ApiClient, receiver: Receiver
) -> None:
    me = api.tenant("New Co")
    endpoint = register(me, receiver.url, events=["attendee.created"])
    event = me.make_event()
    ga = me.general_admission(event["id"])
    created = me.make_attendees(event["id"], ga["id"]).json()["data"][0]
    assert receiver.received == []  # nothing is sent from inside the request
    api.deliver_outbox()

    [message] = receiver.received
    payload = Webhook(endpoint["secret"]).verify(message.body, message.headers)
    assert payload == {
        "type": "attendee.created",
        "timestamp": created["created_at"],
        "data": created,
    }
    assert message.path == "/hooks"
    assert message.headers["content-type"] == "application/json"
    assert re.match(r"^msg_\w+$", message.headers["webhook-id"])
    assert abs(int(message.headers["webhook-timestamp"]) - time.time()) < 60
    assert message.headers["webhook-signature"].startswith("v1,")
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint["secret"]).verify(
            message.body.replace(b"valid", b"VALID"), message.headers
        )
    other = register(me, "https://hooks.example.com/other")
    with pytest.raises(WebhookVerificationError):
        Webhook(other["secret"]).verify(message.body, message.headers)

    [attempt] = deliveries(me, endpoint["id"])
    assert attempt["status"] == "succeeded"
    assert attempt["response_status"] == 200
    assert attempt["event_type"] == "attendee.created"
    assert attempt["webhook_id"] == message.headers["webhook-id"]
    assert attempt["attempt"] == 1
    assert attempt["next_attempt_at"] is None
    assert attempt["error"] is None
    assert isinstance(attempt["duration_ms"], int) and attempt["duration_ms"] >= 0
    assert re.match(r"^whd_\w{20}$", attempt["id"])
    api.deliver_outbox()
    assert len(receiver.received) == 1  # delivered once


def test_server_errors_are_retried_with_growing_delays(
    acme: Tenant, api: ApiClient, receiver: Receiver, clock: FakeClock
) -> None:
    endpoint = register(acme, receiver.url, events=["event.created"])
    receiver.statuses.extend([500, 503, 302])  # a redirect is not followed: it is a failure
    acme.make_event()
    api.deliver_outbox()
    [first] = deliveries(acme, endpoint["id"])
    assert (first["status"], first["response_status"], first["error"]) == (
        "failed",
        500,
        "HTTP 500",
    )
    assert 4 <= gap(first) <= 6  # the first retry comes within 30 s: 5 s ± 20 %
    [row] = outbox_rows(api)
    assert row["status"] == "pending"
    assert row["next_attempt_at"] // 1000 == seconds(first["next_attempt_at"]) * 1000

    api.deliver_outbox()
    assert len(receiver.received) == 1  # not due yet
    clock.advance(seconds=7)
    api.deliver_outbox()
    clock.advance(seconds=37)
    api.deliver_outbox()
    clock.advance(seconds=145)
    api.deliver_outbox()

    log = deliveries(acme, endpoint["id"])
    assert [(a["attempt"], a["status"], a["response_status"]) for a in log] == [
        (4, "succeeded", 200),
        (3, "failed", 302),
        (2, "failed", 503),
        (1, "failed", 500),
    ]
    assert 24 <= gap(log[2]) <= 36
    assert 96 <= gap(log[1]) <= 144
    assert log[0]["next_attempt_at"] is None
    assert len(receiver.received) == 4
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    assert len({r.body for r in receiver.received}) == 1
    for message in receiver.received:
        message.verify(endpoint["secret"])
    assert outbox_rows(api)[0]["status"] == "delivered"


def test_a_receiver_that_is_down_gets_the_message_once_it_is_back(
    acme: Tenant, api: ApiClient, receiver: Receiver, clock: FakeClock
) -> None:
    endpoint = register(acme, receiver.url, events=["event.created"])
    receiver.down()
    event = acme.make_event()
    api.deliver_outbox()
    [failed] = deliveries(acme, endpoint["id"])
    assert failed["status"] == "failed"
    assert failed["response_status"] is None
    assert "Connect" in failed["error"]
    assert failed["next_attempt_at"] is not None

    receiver.up()
    api.deliver_outbox()
    assert receiver.received == []  # waits for its retry time
    clock.advance(seconds=7)
    api.deliver_outbox()
    assert [(r.type, r.data["id"]) for r in receiver.received] == [("event.created", event["id"])]
    clock.advance(hours=30)
    api.deliver_outbox()
    assert len(receiver.received) == 1
    assert [a["status"] for a in deliveries(acme, endpoint["id"])] == ["succeeded", "failed"]


def test_410_gone_disables_the_endpoint_and_stops(
    acme: Tenant, api: ApiClient, receiver: Receiver, clock: FakeClock
) -> None:
    endpoint = register(acme, receiver.url)
    receiver.statuses.append(410)
    acme.make_event()
    api.deliver_outbox()
    [gone] = deliveries(acme, endpoint["id"])
    assert (gone["status"], gone["response_status"], gone["next_attempt_at"]) == (
        "failed",
        410,
        None,
    )
    assert acme.get(f"{PATH}/{endpoint['id']}").json()["data"]["enabled"] is False
    assert outbox_rows(api)[0]["status"] == "failed"

    acme.make_event()  # a disabled endpoint is not sent anything new
    clock.advance(hours=1)
    api.deliver_outbox()
    assert len(receiver.received) == 1
    assert len(outbox_rows(api)) == 1


def test_rows_of_a_disabled_or_deleted_endpoint_are_not_delivered(
    acme: Tenant, api: ApiClient, receiver: Receiver
) -> None:
    other = Receiver()
    try:
        disabled = register(acme, receiver.url)
        deleted = register(acme, other.url)
        acme.make_event()
        assert len(outbox_rows(api)) == 2
        acme.patch(f"{PATH}/{disabled['id']}", {"enabled": False})
        acme.delete(f"{PATH}/{deleted['id']}")
        api.deliver_outbox()
        assert receiver.received == [] and other.received == []
        assert [row["status"] for row in outbox_rows(api)] == ["failed", "failed"]
        [dropped] = deliveries(acme, disabled["id"])
        assert dropped["status"] == "failed"
        assert dropped["error"] == "endpoint disabled: not sent"
        assert dropped["response_status"] is None and dropped["duration_ms"] is None
        assert dropped["next_attempt_at"] is None
    finally:
        other.close()


def test_a_hanging_receiver_times_out_without_delaying_requests_or_other_endpoints(
    acme: Tenant, api: ApiClient, receiver: Receiver, settings: Settings, clock: FakeClock
) -> None:
    use_handler(api, settings, clock, timeout=1.0)
    fast = Receiver()
    try:
        receiver.hang_seconds = 5
        slow_endpoint = register(acme, receiver.url, events=["event.created"])
        fast_endpoint = register(acme, fast.url, events=["event.created"])
        event = acme.make_event()
        ga = acme.general_admission(event["id"])
        started = time.monotonic()
        worker = api.app.state.worker  # type: ignore[attr-defined]
        running = api.client.portal.start_task_soon(worker.drain)  # type: ignore[union-attr]
        while not receiver.received and time.monotonic() - started < 3:
            time.sleep(0.01)
        assert receiver.received, "the delivery never reached the receiver"

        # While the delivery hangs, the API answers at once, reads and writes alike.
        before = time.monotonic()
        assert acme.get(f"/api/v1/events/{event['id']}").status_code == 200
        assert acme.make_attendees(event["id"], ga["id"]).status_code == 201
        assert time.monotonic() - before < 0.5
        assert not running.done()

        running.result(timeout=10)
        waited = time.monotonic() - started
        assert 1 <= waited < 4  # the attempt's timeout (1 s), not the receiver's 5 s hang
        # The other endpoint was not queued behind the hanging one.
        assert fast.received and fast.received[0].at - started < 0.9
    finally:
        fast.close()
    [timed_out] = deliveries(acme, slow_endpoint["id"])
    assert timed_out["status"] == "failed"
    assert timed_out["error"] == "timed out after 1 s"
    assert timed_out["response_status"] is None
    assert timed_out["duration_ms"] >= 990
    assert timed_out["next_attempt_at"] is not None
    assert [a["status"] for a in deliveries(acme, fast_endpoint["id"])] == ["succeeded"]


def test_events_of_one_object_arrive_in_order_even_when_the_first_failed(
    acme: Tenant, api: ApiClient, receiver: Receiver, clock: FakeClock
) -> None:
    register(acme, receiver.url, events=["attendee.created", "attendee.checked_in"])
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    receiver.statuses.append(500)
    ticket = acme.make_attendees(event["id"], ga["id"]).json()["data"][0]
    checked = acme.patch(
        f"/api/v1/events/{event['id']}/attendees/{ticket['id']}", {"status": "checked_in"}
    )
    assert checked.status_code == 200
    api.deliver_outbox()
    assert [r.type for r in receiver.received] == ["attendee.created"]  # the check-in waits
    clock.advance(seconds=7)
    api.deliver_outbox()
    assert [r.type for r in receiver.received] == [
        "attendee.created",
        "attendee.created",
        "attendee.checked_in",
    ]
    assert receiver.received[2].data == checked.json()["data"]
    first, retried, _ = receiver.received
    assert first.headers["webhook-id"] == retried.headers["webhook-id"]


def test_the_retry_schedule_spans_more_than_a_day_then_gives_up(
    acme: Tenant, api: ApiClient, receiver: Receiver, clock: FakeClock
) -> None:
    assert delivery.POLICY_DELAYS[0] * 1.2 <= 30  # first retry within 30 s, jitter included
    assert sum(delivery.POLICY_DELAYS) * 0.8 >= 24 * 3600  # at least 24 h, jitter included
    receiver.status = 500
    endpoint = register(acme, receiver.url, events=["event.created"])
    acme.make_event()
    for _ in range(len(delivery.POLICY_DELAYS) + 3):
        api.deliver_outbox()
        clock.advance(hours=10)
    log = deliveries(acme, endpoint["id"], page_size=50)
    attempts = len(delivery.POLICY_DELAYS) + 1
    assert [a["attempt"] for a in log] == list(range(attempts, 0, -1))
    assert log[0]["next_attempt_at"] is None
    assert all(a["next_attempt_at"] is not None for a in log[1:])
    gaps = [gap(a) for a in reversed(log[1:])]
    assert gaps == sorted(gaps[:-2]) + gaps[-2:]  # growing, then flat at the cap
    assert sum(gaps) >= 24 * 3600
    [row] = outbox_rows(api)
    assert (row["status"], row["attempts"]) == ("failed", attempts)
    assert len(receiver.received) == attempts
    page = acme.get(f"{PATH}/{endpoint['id']}/deliveries", params={"page_size": 5}).json()
    assert len(page["data"]) == 5
    assert page["pagination"]["total"] == attempts


def test_redeliver_sends_the_same_message_again_with_the_same_webhook_id(
    acme: Tenant, api: ApiClient, receiver: Receiver
) -> None:
    endpoint = register(acme, receiver.url, events=["event.created"])
    acme.make_event()
    api.deliver_outbox()
    [original] = deliveries(acme, endpoint["id"])
    path = f"{PATH}/{endpoint['id']}/deliveries/{original['id']}/redeliver"
    response = acme.post(path, headers={"Idempotency-Key": "again-1"})
    assert response.status_code == 202, response.text
    assert response.json()["data"] == {
        "endpoint_id": endpoint["id"],
        "webhook_id": original["webhook_id"],
        "event_type": "event.created",
        "status": "queued",
    }
    assert acme.post(path, headers={"Idempotency-Key": "again-1"}).status_code == 202  # replay
    api.deliver_outbox()
    first, again = receiver.received
    assert again.body == first.body
    assert again.headers["webhook-id"] == first.headers["webhook-id"] == original["webhook_id"]
    again.verify(endpoint["secret"])
    log = deliveries(acme, endpoint["id"])
    assert [a["webhook_id"] for a in log] == [original["webhook_id"]] * 2
    assert log[1]["id"] == original["id"]


def test_redeliver_answers_404_and_409_where_it_cannot(
    acme: Tenant, api: ApiClient, receiver: Receiver
) -> None:
    endpoint = register(acme, receiver.url, events=["event.created"])
    sibling = register(acme, receiver.url, events=["payment.succeeded"])
    acme.make_event()
    api.deliver_outbox()
    [attempt] = deliveries(acme, endpoint["id"])
    unknown = acme.post(f"{PATH}/{endpoint['id']}/deliveries/whd_missing/redeliver")
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "Webhook delivery not found", "code": "not_found"}
    elsewhere = acme.post(f"{PATH}/{sibling['id']}/deliveries/{attempt['id']}/redeliver")
    assert elsewhere.status_code == 404
    acme.patch(f"{PATH}/{endpoint['id']}", {"enabled": False})
    refused = acme.post(f"{PATH}/{endpoint['id']}/deliveries/{attempt['id']}/redeliver")
    assert refused.status_code == 409
    assert refused.json()["code"] == "webhook_endpoint_disabled"
    assert len(outbox_rows(api)) == 1


def test_after_a_rotation_both_secrets_verify_for_a_day(
    acme: Tenant, api: ApiClient, receiver: Receiver, clock: FakeClock
) -> None:
    endpoint = register(acme, receiver.url, events=["event.created"])
    old = endpoint["secret"]
    new = acme.post(f"{PATH}/{endpoint['id']}/rotate-secret").json()["data"]["secret"]
    acme.make_event()
    api.deliver_outbox()
    message = receiver.received[0]
    assert len(message.headers["webhook-signature"].split(" ")) == 2
    message.verify(new)
    message.verify(old)

    clock.advance(hours=25)
    acme.make_event()
    api.deliver_outbox()
    later = receiver.received[1]
    later.verify(new)
    with pytest.raises(WebhookVerificationError):
        later.verify(old)


def test_a_private_address_is_refused_at_delivery_time(
    acme: Tenant, api: ApiClient, receiver: Receiver, settings: Settings, clock: FakeClock
) -> None:
    endpoint = register(acme, receiver.url, events=["event.created"])
    strict = settings.model_copy(update={"webhook_allow_private": False})
    use_handler(api, strict, clock)
    acme.make_event()
    api.deliver_outbox()
    assert receiver.received == []
    [refused] = deliveries(acme, endpoint["id"])
    assert refused["status"] == "failed"
    assert refused["error"].startswith("refused: 127.0.0.1 is a loopback")
    assert refused["next_attempt_at"] is None
    [row] = outbox_rows(api)
    assert (row["status"], row["attempts"]) == ("failed", 1)


def test_a_pinned_request_reaches_the_checked_address_and_names_the_host(
    receiver: Receiver,
) -> None:
    named = f"http://hooks.example.test:{receiver.port}/hooks?source=tessera"
    target = destination.pinned(named, "127.0.0.1")
    assert target.url == f"http://127.0.0.1:{receiver.port}/hooks?source=tessera"
    status = asyncio.run(delivery.post(target, b"{}", {"content-type": "application/json"}, 5))
    assert status == 200
    [message] = receiver.received
    assert message.headers["host"] == f"hooks.example.test:{receiver.port}"
    assert message.path == "/hooks?source=tessera"

    tls = destination.pinned("https://user:pw@hooks.example.test/in", "2001:db8::1")
    assert tls.url == "https://user:pw@[2001:db8::1]/in"
    assert tls.headers == {"Host": "hooks.example.test"}
    assert tls.extensions == {"sni_hostname": "hooks.example.test"}
    assert destination.pinned("http://127.0.0.1:9/x", "127.0.0.1").url == "http://127.0.0.1:9/x"
