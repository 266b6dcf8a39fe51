"""Idempotency keys (SPEC §2), over HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import asyncpg
import pytest

from tessera.db import Connection
from tessera.idempotency import store
from tests.support import ApiClient, Tenant


@pytest.fixture
def acme(api: ApiClient) -> Tenant:
    return api.tenant()


def create_body(
    class_id: str, email: str = "jane@example.com", quantity: int = 2
) -> dict[str, Any]:
    return {
        "ticket_class_id": class_id,
        "contact": {"email": email, "first_name": "Jane", "last_name": "Doe"},
        "quantity": quantity,
        "send_email": True,
    }


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


def test_retry_replays_the_stored_response_verbatim(acme: Tenant, api: ApiClient) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    path = f"/api/v1/events/{event['id']}/attendees"
    first = acme.post(path, create_body(ga["id"]), headers=keyed("attendee-1"))
    assert first.status_code == 201
    assert "idempotent-replay" not in first.headers
    second = acme.post(path, create_body(ga["id"]), headers=keyed("attendee-1"))
    assert second.status_code == 201
    assert second.headers["idempotent-replay"] == "true"
    assert second.content == first.content
    assert second.headers["content-type"] == first.headers["content-type"]
    assert second.headers["x-request-id"] != first.headers["x-request-id"]
    assert api.count("tickets") == 2
    assert api.count("payments") == 1
    assert api.count("outbox") == 1  # no second email


def test_canonical_json_same_meaning_is_a_replay(acme: Tenant) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    path = f"/api/v1/events/{event['id']}/attendees"
    body = create_body(ga["id"])
    first = acme.post(path, body, headers=keyed("k"))
    reordered = dict(reversed(list(body.items())))
    second = acme.api.client.post(
        path,
        content=__import__("json").dumps(reordered, indent=2),
        headers={"X-API-KEY": acme.key, "Content-Type": "application/json", **keyed("k")},
    )
    assert second.headers.get("idempotent-replay") == "true"
    assert second.content == first.content


@pytest.mark.parametrize("change", ["body", "path"])
def test_key_reused_with_a_different_request_is_422(
    acme: Tenant, api: ApiClient, change: str
) -> None:
    event = acme.make_event()
    other = acme.make_event()
    ga = acme.general_admission(event["id"])
    path = f"/api/v1/events/{event['id']}/attendees"
    acme.post(path, create_body(ga["id"]), headers=keyed("k"))
    if change == "body":
        response = acme.post(path, create_body(ga["id"], quantity=3), headers=keyed("k"))
    else:
        response = acme.post(
            f"/api/v1/events/{other['id']}/attendees", create_body(ga["id"]), headers=keyed("k")
        )
    assert response.status_code == 422
    assert response.json() == {
        "error": "Idempotency key reused with a different request",
        "code": "idempotency_key_reused",
    }
    assert api.count("tickets") == 2


def test_keys_are_scoped_per_api_key(acme: Tenant, api: ApiClient) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    path = f"/api/v1/events/{event['id']}/attendees"
    second_key = acme.new_key()
    a = acme.post(path, create_body(ga["id"]), headers=keyed("shared"))
    b = second_key.post(path, create_body(ga["id"]), headers=keyed("shared"))
    assert a.status_code == b.status_code == 201
    assert "idempotent-replay" not in b.headers
    assert a.json()["payment_id"] != b.json()["payment_id"]
    assert api.count("tickets") == 4


def test_keys_are_case_sensitive(acme: Tenant, api: ApiClient) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    path = f"/api/v1/events/{event['id']}/attendees"
    acme.post(path, create_body(ga["id"]), headers=keyed("Key"))
    response = acme.post(path, create_body(ga["id"]), headers=keyed("key"))
    assert "idempotent-replay" not in response.headers
    assert api.count("payments") == 2


def test_revoked_key_gets_401_not_the_replay(acme: Tenant, api: ApiClient) -> None:
    from tessera.auth import service as auth

    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    path = f"/api/v1/events/{event['id']}/attendees"
    assert acme.post(path, create_body(ga["id"]), headers=keyed("k")).status_code == 201
    api.run(lambda conn: auth.revoke_api_key(conn, acme.key_id, api.now()))
    response = acme.post(path, create_body(ga["id"]), headers=keyed("k"))
    assert response.status_code == 401
    assert response.json()["error"] == "Invalid or revoked API key"


def test_scope_is_checked_before_replay(acme: Tenant) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    reader = acme.new_key("attendees:read")
    response = reader.post(
        f"/api/v1/events/{event['id']}/attendees", create_body(ga["id"]), headers=keyed("k")
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    "raw",
    [b"", b"x" * 256, b"has space", b"tab\there", "caf\u00e9".encode("latin-1"), b"\x7f"],
    ids=["empty", "too-long", "space", "tab", "non-ascii", "del"],
)
def test_malformed_keys_are_400_and_execute_nothing(
    acme: Tenant, api: ApiClient, raw: bytes
) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    response = acme.api.client.post(
        f"/api/v1/events/{event['id']}/attendees",
        json=create_body(ga["id"]),
        headers=[(b"X-API-KEY", acme.key.encode()), (b"Idempotency-Key", raw)],
    )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_idempotency_key"
    assert api.count("tickets") == 0


def test_255_visible_characters_are_accepted(acme: Tenant) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    key = "".join(chr(0x21 + i % 94) for i in range(255))
    path = f"/api/v1/events/{event['id']}/attendees"
    assert acme.post(path, create_body(ga["id"]), headers=keyed(key)).status_code == 201
    replay = acme.post(path, create_body(ga["id"]), headers=keyed(key))
    assert replay.headers["idempotent-replay"] == "true"


def test_header_sent_twice_is_400(acme: Tenant, api: ApiClient) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    response = acme.api.client.post(
        f"/api/v1/events/{event['id']}/attendees",
        json=create_body(ga["id"]),
        headers=[
            (b"X-API-KEY", acme.key.encode()),
            (b"Idempotency-Key", b"a"),
            (b"Idempotency-Key", b"a"),
        ],
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"
    assert api.count("tickets") == 0


def test_header_is_ignored_on_get(acme: Tenant) -> None:
    event = acme.make_event()
    response = acme.get(f"/api/v1/events/{event['id']}", headers=keyed(""))
    assert response.status_code == 200
    assert "idempotent-replay" not in response.headers


def test_validation_errors_are_not_stored(acme: Tenant, api: ApiClient) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    path = f"/api/v1/events/{event['id']}/attendees"
    bad = acme.post(path, {**create_body(ga["id"]), "quantity": 0}, headers=keyed("k"))
    assert bad.status_code == 400
    good = acme.post(path, create_body(ga["id"]), headers=keyed("k"))
    assert good.status_code == 201
    assert "idempotent-replay" not in good.headers
    assert api.count("idempotency_keys") == 1


def test_business_404_is_stored_and_replayed(acme: Tenant, api: ApiClient) -> None:
    event = acme.make_event()
    path = f"/api/v1/events/{event['id']}/attendees"
    first = acme.post(path, create_body("prod_missing"), headers=keyed("k"))
    assert first.status_code == 404
    second = acme.post(path, create_body("prod_missing"), headers=keyed("k"))
    assert second.status_code == 404
    assert second.headers["idempotent-replay"] == "true"
    assert second.content == first.content


def test_stored_capacity_409_replays_after_seats_were_freed(acme: Tenant, api: ApiClient) -> None:
    event = acme.make_event(capacity=2)
    ga = acme.general_admission(event["id"])
    path = f"/api/v1/events/{event['id']}/attendees"
    sold = acme.post(path, create_body(ga["id"], quantity=2)).json()
    refused = acme.post(path, create_body(ga["id"], "b@example.com", 1), headers=keyed("k"))
    assert refused.status_code == 409
    assert refused.json()["code"] == "capacity_exceeded"
    for ticket in sold["data"]:
        acme.delete(f"{path}/{ticket['id']}")
    replay = acme.post(path, create_body(ga["id"], "b@example.com", 1), headers=keyed("k"))
    assert replay.status_code == 409
    assert replay.headers["idempotent-replay"] == "true"
    assert replay.content == refused.content
    assert api.count("tickets", "status = 'valid'") == 0


def test_replay_after_patch_and_class_delete_returns_the_original_body(acme: Tenant) -> None:
    event = acme.make_event()
    klass = acme.make_ticket_class(event["id"], name="Early Bird")
    path = f"/api/v1/events/{event['id']}/attendees"
    first = acme.post(path, create_body(klass["id"]), headers=keyed("k"))
    for ticket in first.json()["data"]:
        acme.patch(f"{path}/{ticket['id']}", {"status": "deleted"})
    acme.patch(f"/api/v1/events/{event['id']}/ticket-classes/{klass['id']}", {"name": "Renamed"})
    acme.delete(f"/api/v1/events/{event['id']}/ticket-classes/{klass['id']}")
    replay = acme.post(path, create_body(klass["id"]), headers=keyed("k"))
    assert replay.status_code == 201
    assert replay.content == first.content


def test_location_header_is_stored_and_replayed(acme: Tenant, api: ApiClient) -> None:
    body = {
        "name": "Launch",
        "location": "Hall",
        "start": {"utc": "2027-01-01T10:00", "timezone": "Europe/Berlin"},
    }
    first = acme.post("/api/v1/events", body, headers=keyed("event-1"))
    second = acme.post("/api/v1/events", body, headers=keyed("event-1"))
    assert first.status_code == second.status_code == 201
    assert first.headers["location"] == second.headers["location"]
    assert first.headers["location"] == f"/api/v1/events/{first.json()['data']['id']}"
    assert second.content == first.content
    assert api.count("events") == 1


def test_keys_expire_after_24_hours(acme: Tenant, api: ApiClient, clock: Any) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    path = f"/api/v1/events/{event['id']}/attendees"
    acme.post(path, create_body(ga["id"]), headers=keyed("k"))
    clock.advance(hours=23.9)
    assert (
        acme.post(path, create_body(ga["id"]), headers=keyed("k")).headers.get("idempotent-replay")
        == "true"
    )
    clock.advance(hours=0.2)
    again = acme.post(path, create_body(ga["id"]), headers=keyed("k"))
    assert again.status_code == 201
    assert "idempotent-replay" not in again.headers
    assert api.count("payments") == 2
    # and the fresh outcome is what replays from now on
    replay = acme.post(path, create_body(ga["id"]), headers=keyed("k"))
    assert replay.content == again.content


def test_expired_rows_are_purged(acme: Tenant, api: ApiClient, clock: Any) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    path = f"/api/v1/events/{event['id']}/attendees"
    acme.post(path, create_body(ga["id"]), headers=keyed("old"))
    clock.advance(hours=25)
    acme.post(path, create_body(ga["id"], "b@example.com"), headers=keyed("new"))

    async def purge(conn: Connection) -> int:
        return await store.purge_expired(conn, api.now())

    assert api.run(purge) == 1
    assert api.count("idempotency_keys") == 1


def test_unreachable_key_store_fails_closed_with_503(settings: Any, clock: Any) -> None:
    from fastapi.testclient import TestClient

    from tessera.app import create_app

    broken = settings.model_copy(update={"database_url": "postgresql://postgres@127.0.0.1:1/x"})
    with TestClient(create_app(broken, clock=clock)) as client:
        response = client.post(
            "/api/v1/events/x/attendees",
            json={},
            headers={"X-API-KEY": "tsk_live_" + "a" * 40, **keyed("k")},
        )
    assert response.status_code == 503
    assert set(response.json()) >= {"error", "code"}
    assert response.headers["retry-after"] == "1"


def test_in_flight_key_answers_409_at_once_on_postgresql(
    acme: Tenant, api: ApiClient, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip(
            "SQLite serializes writers: a concurrent retry waits for the outcome and "
            "replays it (see tests/concurrency)"
        )
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    holding = threading.Event()
    release = threading.Event()

    async def hold_lock() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            async with conn.transaction():
                await conn.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                    f"{acme.key_id}\x1fbusy",
                )
                holding.set()
                await asyncio.get_running_loop().run_in_executor(None, release.wait, 10)
        finally:
            await conn.close()

    thread = threading.Thread(target=asyncio.run, args=(hold_lock(),))
    thread.start()
    try:
        assert holding.wait(10)
        response = acme.post(
            f"/api/v1/events/{event['id']}/attendees", create_body(ga["id"]), headers=keyed("busy")
        )
    finally:
        release.set()
        thread.join()
    assert response.status_code == 409
    assert response.json() == {
        "error": "idempotent_request_in_progress",
        "code": "idempotent_request_in_progress",
    }
    assert response.headers["retry-after"] == "1"
    assert api.count("tickets") == 0
    # the in-progress answer is not stored: once the first request is gone, the retry executes
    retry = acme.post(
        f"/api/v1/events/{event['id']}/attendees", create_body(ga["id"]), headers=keyed("busy")
    )
    assert retry.status_code == 201
    assert "idempotent-replay" not in retry.headers
