"""One organization with one of everything the dashboard shows, and every dashboard route
rendered with its IDs: the matrices of the security tests walk these."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.routing import APIRoute

from tests.dashboard.conftest import User, add_user, user
from tests.support import ApiClient, Tenant


@dataclass
class World:
    tenant: Tenant
    owner: User
    ids: dict[str, str]


def build(api: ApiClient, name: str = "Acme") -> World:
    tenant = api.tenant(name)
    owner = user(api, tenant, "owner")
    event = tenant.make_event(capacity=50)
    ticket_class = tenant.make_ticket_class(event["id"], quantity_total=20)
    created = tenant.make_attendees(event["id"], ticket_class["id"], status="pending_approval")
    assert created.status_code == 201, created.text
    attendee = created.json()["data"][0]
    key = tenant.new_key("events:read")
    endpoint = tenant.post("/api/v1/webhook-endpoints", {"url": "http://127.0.0.1:9/hook"}).json()[
        "data"
    ]
    member_email = f"member-{tenant.organization_id[-6:].lower()}@example.com"
    add_user(api, tenant.organization_id, member_email, "door")
    member = next(
        m
        for m in api.run(lambda conn: _team(conn, tenant.organization_id))
        if m["email"] == member_email
    )
    ids = {
        "event_id": event["id"],
        "class_id": ticket_class["id"],
        "attendee_id": attendee["id"],
        "key_id": key.key_id,
        "endpoint_id": endpoint["id"],
        "delivery_id": "whd_nonexistent00000000",
        "user_id": member["id"],
        "action": "approve",
        "organization_id": tenant.organization_id,
    }
    return World(tenant, owner, ids)


async def _team(conn: Any, organization_id: str) -> list[dict[str, Any]]:
    from tessera.account import service as accounts

    return await accounts.team(conn, organization_id)


MISSING = {
    "event_id": "AAAAAAAAAAAAAAAAAAAA",
    "class_id": "prod_AAAAAAAAAAAAAAAAAAAA",
    "attendee_id": "tkt_AAAAAAAAAAAAAAAAAAAA",
    "key_id": "key_AAAAAAAAAAAAAAAAAAAA",
    "endpoint_id": "we_AAAAAAAAAAAAAAAAAAAA",
    "delivery_id": "whd_AAAAAAAAAAAAAAAAAAAA",
    "user_id": "usr_AAAAAAAAAAAAAAAAAAAA",
    "action": "approve",
    "organization_id": "org_AAAAAAAAAAAAAAAAAAAA",
}


def dashboard_routes(api: ApiClient) -> list[tuple[str, str]]:
    """(method, path template) of every dashboard route."""
    found = []
    for route in api.app.routes:  # type: ignore[attr-defined]
        if isinstance(route, APIRoute) and route.path.startswith("/dashboard"):
            for method in sorted(route.methods):
                if method != "HEAD":
                    found.append((method, route.path))
    return found


def render(path: str, ids: dict[str, str]) -> str:
    for name, value in ids.items():
        path = path.replace("{" + name + "}", value)
    assert "{" not in path, f"teach tests/dashboard/world.py the slot in {path}"
    return path
