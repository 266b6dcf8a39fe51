"""The error contract (SPEC §1): one JSON body shape for every error, and nothing written."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support import ApiClient, Tenant, event_body, row_counts

EVENTS = "/api/v1/events"
JSON = {"Content-Type": "application/json"}
MIB = 1024 * 1024


def assert_error_shape(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert isinstance(body["error"], str) and body["error"]
    assert re.match(r"^[a-z][a-z0-9_]*$", body["code"]), body
    assert "Traceback" not in response.text
    return body


def field_errors(response: httpx.Response) -> dict[str, list[str]]:
    assert response.status_code == 400, response.text
    body = assert_error_shape(response)
    assert body["error"] == "Validation failed"
    assert body["code"] == "validation_failed"
    errors: dict[str, list[str]] = body["details"]["fieldErrors"]
    for messages in errors.values():
        assert messages and all(isinstance(m, str) and m for m in messages)
    return errors


def test_validation_errors_are_keyed_by_dotted_path(api: ApiClient) -> None:
    acme = api.tenant()
    body = event_body(start={"utc": "2027-07-15T18:00", "timezone": "Not/AZone"}, name="")
    errors = field_errors(acme.post(EVENTS, body))
    assert set(errors) == {"start.timezone", "name"}
    errors = field_errors(acme.post(EVENTS, event_body(start={"timezone": "UTC"})))
    assert errors == {"start.utc": ["This field is required"]}
    errors = field_errors(acme.post(EVENTS, event_body(end={"utc": "2027-07-15T23:00"})))
    assert list(errors) == ["end.timezone"]


def test_unknown_fields_are_refused_at_any_depth(api: ApiClient) -> None:
    acme = api.tenant()
    assert field_errors(acme.post(EVENTS, event_body(colour="red"))) == {
        "colour": ["Unknown field"]
    }
    nested = event_body(start={"utc": "2027-07-15T18:00", "timezone": "UTC", "dst": True})
    assert field_errors(acme.post(EVENTS, nested)) == {"start.dst": ["Unknown field"]}


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"capacity": "5"}, "capacity"),  # a string is not an integer
        ({"capacity": 5.5}, "capacity"),
        ({"capacity": True}, "capacity"),
        ({"hidden": "true"}, "hidden"),  # a string is not a boolean
        ({"require_approval": 1}, "require_approval"),
        ({"name": 42}, "name"),
        ({"description": ["x"]}, "description"),
        ({"start": "2027-07-15T18:00"}, "start"),
        ({"location": 7}, "location"),
        ({"ticket_price": False}, "ticket_price"),
    ],
)
def test_wrong_types_are_400(api: ApiClient, fields: dict[str, Any], path: str) -> None:
    errors = field_errors(api.tenant().post(EVENTS, event_body(**fields)))
    assert list(errors) == [path]


def test_messages_do_not_leak_python(api: ApiClient) -> None:
    errors = field_errors(api.tenant().post(EVENTS, event_body(ticket_price="100000000")))
    assert "Decimal(" not in errors["ticket_price"][0]


@pytest.fixture(params=["events", "attendees"])
def body_target(request: pytest.FixtureRequest, api: ApiClient) -> tuple[Tenant, str]:
    """A tenant and a creating endpoint: one served through FastAPI's dependency machinery
    (Create Event) and one through Tessera's fast path (Create Attendee): bodies fail alike."""
    acme = api.tenant()
    if request.param == "events":
        return acme, EVENTS
    event = acme.make_event()
    return acme, f"{EVENTS}/{event['id']}/attendees"


@pytest.mark.parametrize("content", [b"{", b'{"name": }', b"not json", b'{"a": 1} trailing'])
def test_malformed_json_is_400(body_target: tuple[Tenant, str], content: bytes) -> None:
    tenant, path = body_target
    response = tenant.post(path, content=content, headers=JSON)
    assert response.status_code == 400
    body = assert_error_shape(response)
    assert body["code"] == "malformed_json"


@pytest.mark.parametrize(
    "content",
    [
        b'{"name": "x", "capacity": ' + b"1" * 5000 + b"}",  # past Python's int digit limit
        b"[" * 100_000 + b"]" * 100_000,  # deeper than the recursion limit
        b"[" * 2_000 + b"]" * 2_000,  # deeper than orjson goes, not than Python's json
    ],
)
def test_json_python_cannot_hold_is_malformed_too(
    body_target: tuple[Tenant, str], content: bytes
) -> None:
    tenant, path = body_target
    response = tenant.post(path, content=content, headers=JSON)
    assert response.status_code == 400, response.text
    assert assert_error_shape(response)["code"] == "malformed_json"


@pytest.mark.parametrize("content", [b"[]", b'"text"', b"42", b"null"])
def test_a_body_that_is_not_an_object_is_400(
    body_target: tuple[Tenant, str], content: bytes
) -> None:
    tenant, path = body_target
    errors = field_errors(tenant.post(path, content=content, headers=JSON))
    assert errors == {"body": ["A JSON object body is required"]}


def test_missing_body_is_400(body_target: tuple[Tenant, str]) -> None:
    tenant, path = body_target
    errors = field_errors(tenant.post(path))
    assert errors == {"body": ["A JSON object body is required"]}


def test_integers_beyond_64_bits_are_named_by_field(body_target: tuple[Tenant, str]) -> None:
    """The fast path decodes with orjson, which refuses such integers; they still reach
    validation, which names the field, as FastAPI's decoding did."""
    tenant, path = body_target
    field = "capacity" if path == EVENTS else "quantity"
    content = b'{"%s": 100000000000000000000000}' % field.encode()
    errors = field_errors(tenant.post(path, content=content, headers=JSON))
    assert field in errors


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "text/plain"},
        {"Content-Type": "application/x-www-form-urlencoded"},
        {"Content-Type": "multipart/form-data; boundary=x"},
        {},
    ],
)
def test_wrong_content_type_is_415(api: ApiClient, headers: dict[str, str]) -> None:
    acme = api.tenant()
    event = acme.make_event()
    for method, path in (("POST", EVENTS), ("PATCH", f"{EVENTS}/{event['id']}")):
        response = acme.api.client.request(
            method, path, content=b'{"name": "x"}', headers={"X-API-KEY": acme.key, **headers}
        )
        assert response.status_code == 415, (method, headers)
        assert assert_error_shape(response)["code"] == "unsupported_media_type"


def test_json_content_type_with_charset_is_accepted(api: ApiClient) -> None:
    import json

    response = api.tenant().post(
        EVENTS,
        content=json.dumps(event_body()).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 201


def test_body_over_one_mib_is_413(api: ApiClient) -> None:
    acme = api.tenant()
    big = b'{"name": "' + b"x" * MIB + b'"}'
    response = acme.post(EVENTS, content=big, headers=JSON)
    assert response.status_code == 413
    assert assert_error_shape(response)["code"] == "payload_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while reading
        for _ in range(17):
            yield b" " * 65536

    response = acme.post(EVENTS, content=chunks(), headers=JSON)
    assert response.status_code == 413
    assert_error_shape(response)


def test_body_of_exactly_one_mib_is_read(api: ApiClient) -> None:
    import json

    body = json.dumps(event_body(description="d")).encode()
    padded = body + b" " * (MIB - len(body))
    assert len(padded) == MIB
    assert api.tenant().post(EVENTS, content=padded, headers=JSON).status_code == 201


@pytest.mark.parametrize(
    "path", ["/nope", "/api/v1/nope", "/api/v1/events/x/y/z", "/api/v2/events"]
)
def test_unknown_route_is_json_404(api: ApiClient, path: str) -> None:
    acme = api.tenant()
    response = acme.get(path)
    assert response.status_code == 404
    assert response.json() == {"error": "Not found", "code": "not_found"}


def test_wrong_method_is_json_405(api: ApiClient) -> None:
    response = api.tenant().delete(EVENTS)
    assert response.status_code == 405
    assert_error_shape(response)


def test_nul_characters_never_reach_the_database(api: ApiClient) -> None:
    acme = api.tenant()
    event = acme.make_event()
    before = row_counts(api)
    response = acme.post(
        EVENTS,
        content=b'{"name": "a\\u0000b", "start": {"utc": '
        b'"2027-07-15T18:00", "timezone": "UTC"}, "location": "x"}',
        headers=JSON,
    )
    assert field_errors(response) == {"name": ["must not contain NUL characters"]}
    response = acme.patch(
        f"{EVENTS}/{event['id']}", content=b'{"description": "\\u0000"}', headers=JSON
    )
    assert list(field_errors(response)) == ["description"]
    response = acme.get(f"{EVENTS}/%00")
    assert response.status_code == 404
    assert_error_shape(response)
    response = acme.get(f"{EVENTS}/{event['id']}/ticket-classes/prod_%00")
    assert response.status_code == 404
    response = acme.get(EVENTS, params={"status": "active\x00"})
    assert response.status_code == 400
    assert_error_shape(response)
    assert row_counts(api) == before


@pytest.mark.parametrize(
    "when",
    [
        "10000-01-01T00:00",
        "9999-12-31T23:00-05:00",  # a valid wall time whose instant is past year 9999
        "0001-01-01T00:00+05:00",
    ],
)
def test_instants_out_of_range_are_400(api: ApiClient, when: str) -> None:
    body = event_body(start={"utc": when, "timezone": "UTC"}, end=None)
    assert list(field_errors(api.tenant().post(EVENTS, body))) == ["start.utc"]


def test_early_years_keep_four_digits(api: ApiClient) -> None:
    event = api.tenant().make_event(start={"utc": "0900-01-01T00:00Z", "timezone": "UTC"}, end=None)
    assert event["start"]["utc"] == "0900-01-01T00:00:00.000Z"


# --- X-Request-Id and error requests -----------------------------------------------------------


def error_requests(api: ApiClient, acme: Tenant, no_scope: Tenant) -> list[httpx.Response]:
    """One request of every refusal the foundation knows; none of them may write."""
    event = acme.get(EVENTS).json()["data"][0]
    classes = f"{EVENTS}/{event['id']}/ticket-classes"
    ga = acme.general_admission(event["id"])
    return [
        api.client.get(EVENTS),  # 401 missing
        api.client.post(EVENTS, json=event_body(), headers={"X-API-KEY": "tsk_live_nope"}),  # 401
        no_scope.get(EVENTS),  # 403
        no_scope.post(EVENTS, event_body()),  # 403
        acme.get(f"{EVENTS}/AbCdEfGhJkMnPqRsTuVw"),  # 404
        acme.get("/nope"),  # 404 route
        acme.post(EVENTS, {"bogus": 1}),  # 400 validation
        acme.post(EVENTS, content=b"{", headers=JSON),  # 400 malformed
        acme.post(EVENTS, content=b"{}", headers={"Content-Type": "text/plain"}),  # 415
        acme.post(EVENTS, content=b"x" * (MIB + 1), headers=JSON),  # 413
        acme.delete(EVENTS),  # 405
        acme.get(EVENTS, params={"page": 0}),  # 400 pagination
        acme.post(classes, {"name": "General Admission"}),  # 409 name taken
        acme.delete(f"{classes}/{ga['id']}"),  # 409 sold tickets
        acme.patch(f"{classes}/{ga['id']}", {"quantity_total": 1}),  # 409 below sold
        acme.patch(f"{EVENTS}/{event['id']}", {"capacity": 1}),  # 409 below sold
        acme.patch(f"{EVENTS}/{event['id']}", {}),  # 400 empty
        acme.post(f"{EVENTS}/AbCdEfGhJkMnPqRsTuVw/ticket-classes", {"name": "X"}),  # 404
        acme.post(classes, {"name": "X", "cost": "-1"}),  # 400
    ]


@pytest.fixture
def sold_out(api: ApiClient) -> tuple[Tenant, Tenant]:
    """An organization with one event whose General Admission class has 2 seats taken."""
    acme = api.tenant()
    no_scope = acme.new_key("events:none")
    event = acme.make_event(capacity=5)
    ga = acme.general_admission(event["id"])
    api.run(
        lambda conn: conn.execute(
            "UPDATE ticket_classes SET quantity_sold = 2, quantity_total = 5 WHERE id = $1",
            ga["id"],
        )
    )
    api.run(
        lambda conn: conn.execute("UPDATE events SET tickets_sold = 2 WHERE id = $1", event["id"])
    )
    return acme, no_scope


def test_every_response_carries_a_request_id(
    api: ApiClient, sold_out: tuple[Tenant, Tenant]
) -> None:
    acme, no_scope = sold_out
    responses = [
        acme.get(EVENTS),
        acme.post(EVENTS, event_body()),
        api.client.get("/healthz"),
        api.client.get("/openapi.json"),
        *error_requests(api, acme, no_scope),
    ]
    ids = [response.headers.get("x-request-id") for response in responses]
    assert all(ids), [(r.request.url, r.status_code) for r in responses]
    assert len(set(ids)) == len(ids)


def test_nothing_is_written_on_any_4xx(api: ApiClient, sold_out: tuple[Tenant, Tenant]) -> None:
    acme, no_scope = sold_out
    before = row_counts(api)
    event_before = acme.get(EVENTS).json()["data"]
    responses = error_requests(api, acme, no_scope)
    for response in responses:
        assert 400 <= response.status_code < 500, (response.request.url, response.text)
        assert_error_shape(response)
    assert row_counts(api) == before
    assert acme.get(EVENTS).json()["data"] == event_before


def test_a_valid_incoming_request_id_is_echoed(api: ApiClient) -> None:
    acme = api.tenant()
    for value in ("req-123", "0f8fad5b-d9cb-469f-a165-70867728950e", "a.b:c_d"):
        headers = {"X-Request-Id": value}
        assert acme.get(EVENTS, headers=headers).headers["x-request-id"] == value
        assert api.client.get(EVENTS, headers=headers).headers["x-request-id"] == value
        too_big = acme.post(EVENTS, content=b"x" * (MIB + 1), headers={**JSON, **headers})
        assert too_big.headers["x-request-id"] == value


@pytest.mark.parametrize("value", ["has space", "x" * 129, "semi;colon", "<script>"])
def test_an_invalid_incoming_request_id_is_replaced(api: ApiClient, value: str) -> None:
    response = api.tenant().get(EVENTS, headers={"X-Request-Id": value})
    assert response.headers["x-request-id"] != value
    assert re.match(r"^[A-Za-z0-9._:\-]{1,128}$", response.headers["x-request-id"])


def test_unexpected_errors_are_a_json_500_without_a_trace(api: ApiClient) -> None:
    async def broken() -> None:
        raise RuntimeError("secret internals at /srv/tessera")

    api.app.add_api_route("/test-broken", broken)  # type: ignore[attr-defined]
    response = api.client.get("/test-broken", headers={"X-Request-Id": "boom-1"})
    assert response.status_code == 500
    assert response.json() == {"error": "Internal server error", "code": "internal_error"}
    assert "secret" not in response.text
    assert response.headers["x-request-id"] == "boom-1"
