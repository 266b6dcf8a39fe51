"""The hot endpoints are served by Tessera's fast path and still documented by FastAPI.

Every other test of Create Attendee and Get Attendee goes through the fast path; these prove
that it is the one the edge serves them by (and only them, and only where the router would have
chosen them), and what it must keep from FastAPI: the OpenAPI description, scope checks, and
validation errors located in the body.
"""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from fastapi import Body, Depends, FastAPI, Header, Query, Response
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from tessera.edge import EdgeApp
from tessera.fast_path import HotRoutes, fast_path
from tests.support import ApiClient

FAST = {
    ("GET", "/api/v1/events/{event_id}/attendees"),
    ("POST", "/api/v1/events/{event_id}/attendees"),
    ("GET", "/api/v1/events/{event_id}/attendees/{attendee_id}"),
}


def _served_by_the_edge(app: FastAPI, method: str, path: str) -> bool:
    scope = {"type": "http", "method": method, "path": path, "headers": [], "root_path": ""}
    return HotRoutes(app.routes).find(scope) is not None


def test_the_hot_endpoints_are_served_by_the_fast_path(api: ApiClient) -> None:
    app: FastAPI = api.app  # type: ignore[assignment]
    for method, template in FAST:
        path = template.replace("{event_id}", "evt").replace("{attendee_id}", "att_x")
        assert _served_by_the_edge(app, method, path), (method, path)
    # and nothing else is: the rest keep FastAPI's handler
    assert not _served_by_the_edge(app, "GET", "/api/v1/events/evt")
    assert not _served_by_the_edge(app, "DELETE", "/api/v1/events/evt/attendees/att_x")
    # nor a path that an earlier route matches, though the hot template would too
    assert not _served_by_the_edge(app, "GET", "/api/v1/events/evt/attendees/export")


def test_openapi_still_documents_them(api: ApiClient) -> None:
    schema = api.client.get("/openapi.json").json()
    create = schema["paths"]["/api/v1/events/{event_id}/attendees"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/AttendeeCreate"
    )
    assert {p["name"] for p in create["parameters"]} >= {"event_id", "Idempotency-Key"}
    get = schema["paths"]["/api/v1/events/{event_id}/attendees/{attendee_id}"]["get"]
    assert {p["name"] for p in get["parameters"]} == {"event_id", "attendee_id"}


def test_scopes_bind_on_the_fast_path(api: ApiClient) -> None:
    reader = api.tenant("Reader", scope_list="attendees:read")
    event = reader.api.tenant("Owner").make_event()  # any event: the scope check comes first
    response = reader.post(
        f"/api/v1/events/{event['id']}/attendees",
        {"ticket_class_id": "x", "contact": {"email": "a@example.com"}},
    )
    assert response.status_code == 403
    assert response.json()["required"] == "attendees:write"
    writer_only = api.tenant("Writer", scope_list="events:read")
    response = writer_only.get(f"/api/v1/events/{event['id']}/attendees/att_x")
    assert response.status_code == 403
    assert response.json()["required"] == "attendees:read"


def test_malformed_json_is_400_before_the_scope_check_as_in_fastapi(api: ApiClient) -> None:
    """FastAPI decodes the body before it runs dependencies: a read-only key sending broken
    JSON hears about the JSON, on Create Event (FastAPI) and Create Attendee (fast path)."""
    owner = api.tenant("Owner")
    event = owner.make_event()
    reader = api.tenant("Reader", scope_list="attendees:read,events:read")
    for path in ("/api/v1/events", f"/api/v1/events/{event['id']}/attendees"):
        response = reader.post(path, content=b"{", headers={"Content-Type": "application/json"})
        assert response.status_code == 400, path
        assert response.json()["code"] == "malformed_json", path


def test_validation_errors_name_fields_inside_the_body(api: ApiClient) -> None:
    acme = api.tenant()
    event = acme.make_event()
    response = acme.post(
        f"/api/v1/events/{event['id']}/attendees",
        {"ticket_class_id": "x", "contact": {"email": "not an email"}, "quantity": 0},
    )
    assert response.status_code == 400
    errors = response.json()["details"]["fieldErrors"]
    assert set(errors) == {"contact.email", "quantity"}


def test_query_errors_read_as_fastapi_gives_them(api: ApiClient) -> None:
    """The event list is served by FastAPI, the attendee list by the fast path: the same bad
    pagination gets the same answer from both."""
    acme = api.tenant()
    event = acme.make_event()
    attendees = f"/api/v1/events/{event['id']}/attendees"
    for query in ("page=0", "page_size=201", "page=x", "page=0&page_size=0", "page=1.5"):
        fast = acme.get(f"{attendees}?{query}")
        assert fast.status_code == 400, query
        assert fast.json() == acme.get(f"/api/v1/events?{query}").json(), query
    errors = acme.get(f"{attendees}?q={'x' * 201}&page=0").json()["details"]["fieldErrors"]
    assert errors == {
        "page": ["Input should be greater than or equal to 1"],
        "q": ["String should have at most 200 characters"],
    }
    assert list(errors) == ["q", "page"]  # the query model's field order, as FastAPI gives it
    ok = acme.get(f"{attendees}?page=2&page_size=1&status=valid").json()
    assert ok["pagination"] == {"total": 0, "page": 2, "page_size": 1, "total_pages": 0}


class Thing(BaseModel):
    name: str


async def typed_path(thing_id: int) -> Response:
    return Response()


async def embedded(thing_id: str, thing: Annotated[Thing, Body(embed=True)]) -> Response:
    return Response()


async def header(thing_id: str, x_tag: Annotated[str, Header()]) -> Response:
    return Response()


async def plain_query(thing_id: str, name: Annotated[str, Query()]) -> Response:
    return Response()


class Tagged(BaseModel):
    tags: list[str] | None = None


async def repeated_query(thing_id: str, query: Annotated[Tagged, Query()]) -> Response:
    return Response()


def loose(name: str) -> str:
    return name


async def other_dependency(thing_id: str, name: Annotated[str, Depends(loose)]) -> Response:
    return Response()


@pytest.mark.parametrize(
    "endpoint", [typed_path, embedded, header, plain_query, repeated_query, other_dependency]
)
def test_shapes_the_fast_path_cannot_serve_are_refused_at_startup(endpoint: Any) -> None:
    """A marked endpoint the fast path would serve wrongly stops the app from starting."""
    app = FastAPI()
    app.add_api_route("/things/{thing_id}", fast_path(endpoint), methods=["POST"])
    with pytest.raises(TypeError):
        HotRoutes(app.routes)


class Echo(BaseModel):
    tag: str
    limit: Annotated[int, Field(ge=1)] = 10
    name: Annotated[str | None, Field(max_length=3)] = None


def _echo_endpoint() -> Any:
    """A fresh endpoint function each call, so one can be marked for the fast path."""

    async def echo(query: Annotated[Echo, Query()]) -> Response:
        return JSONResponse(query.model_dump())

    return echo


def test_a_query_model_reads_as_fastapi_reads_it() -> None:
    """Absent parameters take their defaults or are missing, a repeated one its last value,
    unknown ones are ignored, and errors carry FastAPI's locations: the same answers from
    FastAPI and the fast path."""
    app = EdgeApp()
    app.add_api_route("/fastapi", _echo_endpoint(), methods=["GET"])
    app.add_api_route("/fast", fast_path(_echo_endpoint()), methods=["GET"])
    assert _served_by_the_edge(app, "GET", "/fast")
    assert not _served_by_the_edge(app, "GET", "/fastapi")
    queries = [
        "tag=a&limit=3&name=abc",
        "tag=a",  # the defaults
        "",  # a required parameter missing
        "tag=a&limit=0&name=abcd",  # two errors, in declaration order
        "tag=a&limit=x",
        "tag=a&tag=b",  # the last value
        "tag=a&color=red",  # an unknown parameter
    ]
    with TestClient(app) as client:
        for query in queries:
            fast = client.get(f"/fast?{query}")
            slow = client.get(f"/fastapi?{query}")
            assert (fast.status_code, fast.json()) == (slow.status_code, slow.json()), query
        assert client.get("/fast?tag=a").json() == {"tag": "a", "limit": 10, "name": None}
        assert client.get("/fast?tag=a&tag=b").json()["tag"] == "b"
        refused = client.get("/fast?tag=a&limit=0").json()  # Tessera's error shape
        assert refused["details"]["fieldErrors"] == {
            "limit": ["Input should be greater than or equal to 1"]
        }


def test_a_replay_of_the_same_body_is_answered_without_validating_it(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A retry whose Idempotency-Key already answered the very same body gets the stored
    outcome before the body is validated again (it was validated the first time); a different
    body under that key is validated, and then refused as the reuse it is."""
    import tessera.fast_path as fast_path_module

    validated: list[Any] = []
    validate = fast_path_module._validated_body

    def counting(decoded: Any, model: Any) -> Any:
        validated.append(decoded)
        return validate(decoded, model)

    monkeypatch.setattr(fast_path_module, "_validated_body", counting)
    acme = api.tenant()
    event = acme.make_event()
    ticket_class = acme.general_admission(event["id"])
    path = f"/api/v1/events/{event['id']}/attendees"
    body = {"ticket_class_id": ticket_class["id"], "contact": {"email": "ada@example.com"}}
    key = {"Idempotency-Key": "replay-skips-validation"}

    first = acme.post(path, body, headers=key)
    assert first.status_code == 201 and len(validated) == 1
    again = acme.post(path, body, headers=key)
    assert again.status_code == 201 and again.json() == first.json()
    assert len(validated) == 1  # the stored outcome, unvalidated

    other = {**body, "contact": {"email": "grace@example.com"}}
    refused = acme.post(path, other, headers=key)
    assert refused.status_code == 422 and len(validated) == 2
    assert refused.json()["code"] == "idempotency_key_reused"
