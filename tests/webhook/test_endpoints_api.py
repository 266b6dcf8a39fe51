"""/api/v1/webhook-endpoints over HTTP: CRUD, the secret shown only at create and rotate,
validation, scopes, tenancy and the private-address rule."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tessera.app import create_app
from tessera.config import Settings
from tests.support import ApiClient, FakeClock, Tenant
from tests.webhook.conftest import PATH, register

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
NOT_FOUND = {"error": "Webhook endpoint not found", "code": "not_found"}


def secret_bytes(secret: str) -> bytes:
    assert secret.startswith("whsec_")
    return base64.b64decode(secret.removeprefix("whsec_"), validate=True)


def test_create_answers_the_endpoint_with_its_secret_once(acme: Tenant) -> None:
    response = acme.post(
        PATH,
        {
            "url": "https://hooks.example.com/tessera",
            "events": ["attendee.created", "payment.succeeded"],
            "description": "CRM sync",
        },
    )
    assert response.status_code == 201, response.text
    created = response.json()["data"]
    assert re.match(r"^we_[2-9A-Za-z]{20}$", created["id"])
    assert response.headers["location"] == f"{PATH}/{created['id']}"
    assert created["url"] == "https://hooks.example.com/tessera"
    assert created["events"] == ["attendee.created", "payment.succeeded"]
    assert created["enabled"] is True
    assert created["description"] == "CRM sync"
    assert ISO.match(created["created_at"]) and created["updated_at"] == created["created_at"]
    assert len(secret_bytes(created["secret"])) >= 24

    fetched = acme.get(f"{PATH}/{created['id']}").json()["data"]
    assert "secret" not in fetched
    assert fetched == {k: v for k, v in created.items() if k != "secret"}
    listed = acme.get(PATH).json()["data"]
    assert [item["id"] for item in listed] == [created["id"]]
    assert "secret" not in listed[0]
    assert created["secret"] not in acme.get(PATH).text


def test_defaults_all_events_enabled_no_description(acme: Tenant) -> None:
    created = register(acme, "http://127.0.0.1:9/hook")
    assert created["events"] == []
    assert created["enabled"] is True
    assert created["description"] is None


def test_list_is_paginated_newest_first_and_another_organization_sees_nothing(
    acme: Tenant, api: ApiClient, clock: FakeClock
) -> None:
    ids = []
    for n in range(3):
        ids.append(register(acme, f"https://hooks.example.com/{n}")["id"])
        clock.advance(seconds=1)
    page = acme.get(PATH, params={"page": 1, "page_size": 2}).json()
    assert [item["id"] for item in page["data"]] == [ids[2], ids[1]]
    assert page["pagination"] == {"total": 3, "page": 1, "page_size": 2, "total_pages": 2}
    second = acme.get(PATH, params={"page": 2, "page_size": 2}).json()
    assert [item["id"] for item in second["data"]] == [ids[0]]
    bad = acme.get(PATH, params={"page_size": 0})
    assert bad.status_code == 400
    assert bad.json()["error"] == "Invalid pagination parameters"

    other = api.tenant("Globex").get(PATH).json()
    assert other["data"] == []
    assert other["pagination"]["total"] == 0


def test_patch_changes_what_is_given(acme: Tenant, clock: FakeClock) -> None:
    created = register(acme, "https://hooks.example.com/a", description="first")
    clock.advance(seconds=2)
    response = acme.patch(
        f"{PATH}/{created['id']}",
        {"url": "https://hooks.example.com/b", "events": ["event.updated"], "enabled": False},
    )
    assert response.status_code == 200, response.text
    changed = response.json()["data"]
    assert "secret" not in changed
    assert changed["url"] == "https://hooks.example.com/b"
    assert changed["events"] == ["event.updated"]
    assert changed["enabled"] is False
    assert changed["description"] == "first"
    assert changed["updated_at"] > created["updated_at"]
    assert changed["created_at"] == created["created_at"]
    cleared = acme.patch(f"{PATH}/{created['id']}", {"description": None, "events": []})
    assert cleared.json()["data"]["description"] is None
    assert cleared.json()["data"]["events"] == []
    assert acme.get(f"{PATH}/{created['id']}").json()["data"] == cleared.json()["data"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, None),
        ({"url": None}, "url"),
        ({"enabled": None}, "enabled"),
        ({"events": None}, "events"),
        ({"events": ["attendee.deleted"]}, "events"),
        ({"url": "ftp://hooks.example.com"}, "url"),
        ({"secret": "whsec_AAAA"}, "secret"),
    ],
)
def test_patch_refuses_bad_bodies(acme: Tenant, body: dict[str, object], field: str) -> None:
    created = register(acme, "https://hooks.example.com/a")
    response = acme.patch(f"{PATH}/{created['id']}", body)
    assert response.status_code == 400, response.text
    if field is None:
        assert response.json()["error"] == "At least one field is required"
    else:
        assert field in response.json()["details"]["fieldErrors"]
    assert acme.get(f"{PATH}/{created['id']}").json()["data"]["url"] == created["url"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "url"),
        ({"url": ""}, "url"),
        ({"url": "hooks.example.com/x"}, "url"),
        ({"url": "ftp://hooks.example.com/x"}, "url"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"url": "http:///path-only"}, "url"),
        ({"url": "http://hooks.example.com:99999/"}, "url"),
        ({"url": "http://hooks.example.com/a b"}, "url"),
        ({"url": "https://hooks.example.com/" + "a" * 2048}, "url"),
        ({"url": "https://hooks.example.com", "events": ["attendee.created", "nope"]}, "events"),
        ({"url": "https://hooks.example.com", "events": "attendee.created"}, "events"),
        ({"url": "https://hooks.example.com", "enabled": "yes"}, "enabled"),
        ({"url": "https://hooks.example.com", "secret": "whsec_mine"}, "secret"),
    ],
)
def test_create_refuses_bad_bodies(
    acme: Tenant, api: ApiClient, body: dict[str, object], field: str
) -> None:
    response = acme.post(PATH, body)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "validation_failed"
    assert field in response.json()["details"]["fieldErrors"]
    assert api.count("webhook_endpoints") == 0


def test_unknown_event_type_message_lists_the_known_ones(acme: Tenant) -> None:
    response = acme.post(PATH, {"url": "https://h.example.com", "events": ["ticket.sold"]})
    message = response.json()["details"]["fieldErrors"]["events"][0]
    assert "ticket.sold" in message and "attendee.checked_in" in message


def test_duplicate_event_types_are_kept_once(acme: Tenant) -> None:
    created = register(
        acme, "https://h.example.com", events=["event.created", "event.created", "event.updated"]
    )
    assert created["events"] == ["event.created", "event.updated"]


def test_rotate_secret_answers_a_new_secret_once(acme: Tenant, clock: FakeClock) -> None:
    created = register(acme, "https://hooks.example.com/a")
    clock.advance(seconds=1)
    response = acme.post(f"{PATH}/{created['id']}/rotate-secret")
    assert response.status_code == 200, response.text
    rotated = response.json()["data"]
    assert rotated["id"] == created["id"]
    assert rotated["secret"] != created["secret"]
    assert len(secret_bytes(rotated["secret"])) >= 24
    assert rotated["updated_at"] > created["updated_at"]
    fetched = acme.get(f"{PATH}/{created['id']}").json()["data"]
    assert "secret" not in fetched


def test_rotate_with_an_idempotency_key_replays_the_same_secret(acme: Tenant) -> None:
    created = register(acme, "https://hooks.example.com/a")
    path = f"{PATH}/{created['id']}/rotate-secret"
    first = acme.post(path, headers={"Idempotency-Key": "rotate-1"})
    again = acme.post(path, headers={"Idempotency-Key": "rotate-1"})
    assert again.headers["idempotent-replay"] == "true"
    assert again.json()["data"]["secret"] == first.json()["data"]["secret"]


def test_create_is_idempotent(acme: Tenant, api: ApiClient) -> None:
    body = {"url": "https://hooks.example.com/a"}
    first = acme.post(PATH, body, headers={"Idempotency-Key": "we-1"})
    again = acme.post(PATH, body, headers={"Idempotency-Key": "we-1"})
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replay"] == "true"
    assert again.content == first.content
    assert api.count("webhook_endpoints") == 1
    reused = acme.post(
        PATH, {"url": "https://other.example.com"}, headers={"Idempotency-Key": "we-1"}
    )
    assert reused.status_code == 422


def test_delete_removes_the_endpoint(acme: Tenant, api: ApiClient) -> None:
    created = register(acme, "https://hooks.example.com/a")
    response = acme.delete(f"{PATH}/{created['id']}")
    assert response.status_code == 200
    assert response.json() == {"deleted": True, "id": created["id"]}
    assert acme.get(f"{PATH}/{created['id']}").status_code == 404
    assert acme.delete(f"{PATH}/{created['id']}").json() == NOT_FOUND
    assert api.count("webhook_endpoints") == 0


def test_another_organization_gets_the_identical_404_everywhere(
    acme: Tenant, api: ApiClient
) -> None:
    created = register(acme, "https://hooks.example.com/a")
    globex = api.tenant("Globex")
    base = f"{PATH}/{created['id']}"
    for theirs, missing in (
        (globex.get(base), acme.get(f"{PATH}/we_missing")),
        (globex.patch(base, {"enabled": False}), acme.patch(f"{PATH}/we_x", {"enabled": False})),
        (globex.delete(base), acme.delete(f"{PATH}/we_missing")),
        (globex.post(f"{base}/rotate-secret"), acme.post(f"{PATH}/we_x/rotate-secret")),
        (globex.get(f"{base}/deliveries"), acme.get(f"{PATH}/we_x/deliveries")),
        (
            globex.post(f"{base}/deliveries/whd_x/redeliver"),
            acme.post(f"{PATH}/we_x/deliveries/whd_x/redeliver"),
        ),
    ):
        assert theirs.status_code == missing.status_code == 404
        assert theirs.json() == missing.json() == NOT_FOUND
    unchanged = acme.get(base).json()["data"]
    assert unchanged["enabled"] is True


def test_the_webhooks_scope_is_required(acme: Tenant) -> None:
    created = register(acme, "https://hooks.example.com/a")
    reader = acme.new_key("webhooks:read")
    assert reader.get(PATH).status_code == 200
    assert reader.get(f"{PATH}/{created['id']}").status_code == 200
    assert reader.get(f"{PATH}/{created['id']}/deliveries").status_code == 200
    for response in (
        reader.post(PATH, {"url": "https://hooks.example.com/b"}),
        reader.patch(f"{PATH}/{created['id']}", {"enabled": False}),
        reader.delete(f"{PATH}/{created['id']}"),
        reader.post(f"{PATH}/{created['id']}/rotate-secret"),
        reader.post(f"{PATH}/{created['id']}/deliveries/whd_x/redeliver"),
    ):
        assert response.status_code == 403
        assert response.json()["error"] == "insufficient_scope"
        assert response.json()["required"] == "webhooks:write"
    others = acme.new_key("events:write,attendees:write")
    response = others.get(PATH)
    assert response.status_code == 403
    assert response.json()["required"] == "webhooks:read"


# The private-address rule: tests normally allow private addresses (the receiver is on
# loopback); these run an app with the production default.
@pytest.fixture
def strict(settings: Settings, clock: FakeClock) -> Iterator[Tenant]:
    strict_settings = settings.model_copy(update={"webhook_allow_private": False})
    with TestClient(create_app(strict_settings, clock=clock)) as client:
        yield ApiClient(client).tenant("Strict")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://127.1.2.3/hook",
        "http://localhost:3000/hook",
        "https://LOCALHOST/hook",
        "http://10.0.0.5/hook",
        "http://172.16.8.1/hook",
        "http://192.168.1.20/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://100.64.0.1/hook",
        "http://0.0.0.0:8000/hook",
        "http://[::1]:8000/hook",
        "http://[fe80::1]/hook",
        "http://[fd00::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
    ],
)
def test_private_addresses_are_refused_when_not_allowed(strict: Tenant, url: str) -> None:
    response = strict.post(PATH, {"url": url})
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "validation_failed"
    assert "url" in response.json()["details"]["fieldErrors"]
    assert strict.get(PATH).json()["data"] == []


def test_public_addresses_are_accepted_and_patch_is_checked_too(strict: Tenant) -> None:
    created = register(strict, "https://93.184.215.14/hook")
    response = strict.patch(f"{PATH}/{created['id']}", {"url": "http://10.1.1.1/hook"})
    assert response.status_code == 400
    assert "url" in response.json()["details"]["fieldErrors"]
    assert strict.get(f"{PATH}/{created['id']}").json()["data"]["url"] == created["url"]
