"""API keys and scopes (SPEC §1): who may call, and what a refusal looks like."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from tessera.auth import service as auth
from tessera.kit.ids import ID_ALPHABET
from tests.support import ApiClient, event_body, row_counts

EVENTS = "/api/v1/events"


def revoke(api: ApiClient, key_id: str) -> None:
    api.run(lambda conn: auth.revoke_api_key(conn, key_id, api.now()))


def test_missing_key_is_401_with_documented_body(api: ApiClient) -> None:
    acme = api.tenant()
    event = acme.make_event()
    for response in (
        api.client.get(EVENTS),
        api.client.get(f"{EVENTS}/{event['id']}"),
        api.client.post(EVENTS, json=event_body()),
        api.client.get(f"{EVENTS}/{event['id']}/ticket-classes"),
        api.client.get(EVENTS, headers={"X-API-KEY": ""}),
    ):
        assert response.status_code == 401
        assert response.json() == {"error": "Missing X-API-KEY header", "code": "missing_api_key"}


def test_unknown_and_revoked_keys_get_identical_401(api: ApiClient) -> None:
    acme = api.tenant()
    assert acme.get(EVENTS).status_code == 200
    revoke(api, acme.key_id)

    revoked = acme.get(EVENTS)
    unknown = api.client.get(EVENTS, headers={"X-API-KEY": "tsk_live_" + "x" * 40})
    garbage = api.client.get(EVENTS, headers={"X-API-KEY": "not-a-key"})
    for response in (revoked, unknown, garbage):
        assert response.status_code == 401
        assert response.json() == {"error": "Invalid or revoked API key", "code": "invalid_api_key"}
    assert revoked.content == unknown.content == garbage.content


def test_revoking_one_key_leaves_the_others_working(api: ApiClient) -> None:
    acme = api.tenant()
    second = acme.new_key()
    revoke(api, acme.key_id)
    assert acme.get(EVENTS).status_code == 401
    assert second.get(EVENTS).status_code == 200


def test_revoked_key_cannot_write(api: ApiClient) -> None:
    acme = api.tenant()
    revoke(api, acme.key_id)
    before = row_counts(api)
    assert acme.post(EVENTS, event_body()).status_code == 401
    assert row_counts(api) == before


def test_keys_are_stored_only_as_sha256(api: ApiClient) -> None:
    acme = api.tenant()
    other = acme.new_key("events:read")

    async def rows(conn: Any) -> list[dict[str, Any]]:
        return [dict(row) for row in await conn.fetch("SELECT * FROM api_keys")]

    stored = api.run(rows)
    assert len(stored) == 2
    for tenant in (acme, other):
        row = next(r for r in stored if r["id"] == tenant.key_id)
        assert row["key_hash"] == hashlib.sha256(tenant.key.encode()).hexdigest()
        secret_part = tenant.key.removeprefix("tsk_live_")
        for value in row.values():
            assert tenant.key not in str(value)
            # Only a short display prefix of the random part may be kept.
            assert secret_part[:16] not in str(value)


def test_key_format_is_prefixed_and_long(api: ApiClient) -> None:
    acme = api.tenant()
    assert acme.key.startswith("tsk_live_")
    random_part = acme.key.removeprefix("tsk_live_")
    assert len(random_part) >= 32
    assert set(random_part) <= set(ID_ALPHABET)
    assert api.tenant().key != acme.key


@pytest.mark.parametrize(
    ("scopes", "method", "allowed", "required"),
    [
        ("events:read", "get", True, None),
        ("events:write", "get", True, None),  # write implies read
        ("events:write", "post", True, None),
        ("events:read", "post", False, "events:write"),
        ("events:none", "get", False, "events:read"),
        ("events:none", "post", False, "events:write"),
        ("attendees:write", "get", False, "events:read"),
    ],
)
def test_event_scopes(
    api: ApiClient, scopes: str, method: str, allowed: bool, required: str | None
) -> None:
    acme = api.tenant()
    limited = acme.new_key(scopes)
    before = row_counts(api)
    response = limited.get(EVENTS) if method == "get" else limited.post(EVENTS, event_body())
    if allowed:
        assert response.status_code in (200, 201), response.text
        return
    assert response.status_code == 403
    assert response.json() == {
        "error": "insufficient_scope",
        "code": "insufficient_scope",
        "required": required,
    }
    assert row_counts(api) == before


def test_ticket_class_scopes(api: ApiClient) -> None:
    acme = api.tenant()
    event = acme.make_event()
    classes = f"{EVENTS}/{event['id']}/ticket-classes"
    ga = acme.general_admission(event["id"])

    reader = acme.new_key("ticket_classes:read")
    assert reader.get(classes).status_code == 200
    assert reader.get(f"{classes}/{ga['id']}").status_code == 200
    for response, required in (
        (reader.post(classes, {"name": "VIP"}), "ticket_classes:write"),
        (reader.patch(f"{classes}/{ga['id']}", {"name": "VIP"}), "ticket_classes:write"),
        (reader.delete(f"{classes}/{ga['id']}"), "ticket_classes:write"),
        (acme.new_key("events:write").get(classes), "ticket_classes:read"),
    ):
        assert response.status_code == 403
        assert response.json()["required"] == required

    writer = acme.new_key("ticket_classes:write")
    assert writer.get(classes).status_code == 200
    assert writer.post(classes, {"name": "VIP"}).status_code == 201


def test_scope_is_checked_before_the_record_is_looked_up(api: ApiClient) -> None:
    # A key without the scope learns nothing about which IDs exist.
    limited = api.tenant().new_key("attendees:read")
    missing = limited.get(f"{EVENTS}/AbCdEfGhJkMnPqRsTuVw")
    assert missing.status_code == 403
    assert missing.json()["required"] == "events:read"


def test_authentication_comes_before_validation(api: ApiClient) -> None:
    assert api.client.post(EVENTS, json={"bogus": True}).status_code == 401
    malformed = api.client.post(EVENTS, content=b"{", headers={"Content-Type": "application/json"})
    assert malformed.status_code == 401
    assert api.client.get(f"{EVENTS}?page=0").status_code == 401
    reader = api.tenant().new_key("events:read")
    assert reader.post(EVENTS, {"bogus": True}).status_code == 403


def test_key_belongs_to_one_organization(api: ApiClient) -> None:
    acme = api.tenant("Acme")
    globex = api.tenant("Globex")
    event = acme.make_event(name="Acme only")
    listed = globex.get(EVENTS).json()["data"]
    assert listed == []
    assert acme.get(EVENTS).json()["data"][0]["id"] == event["id"]
