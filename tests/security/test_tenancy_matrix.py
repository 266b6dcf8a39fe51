"""Another organization's ID is indistinguishable from a missing one, on every endpoint (SPEC §1).

Every ``/api/v1`` route with a path ID is found in the app's routing table (a new route fails
this test until it is given a probe here, so no endpoint is forgotten). Each ID slot of a route
(path IDs, and the IDs a body or query carries: a ticket class, a barcode) is filled with the
caller's own row, another organization's row, or a well-formed ID of nothing. Every combination
holding another organization's row is sent next to its twin with a missing ID in those slots:
the two must answer the same status and byte-identical body, after the same number of SQL
statements (``tessera.db.STATEMENTS``: deterministic where wall-clock timing is noise). A few
reads are also timed (medians of 30). Nothing of the other organization may change.
"""

from __future__ import annotations

import itertools
import json
import statistics
import time
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.routing import APIRoute

from tessera import db as tessera_db
from tessera.kit import ids
from tests.support import ApiClient, Tenant

# The ID slots a route can have, and how a well-formed ID of nothing looks for each.
MISSING_IDS = {
    "event_id": ids.event_id,
    "class_id": ids.ticket_class_id,
    "attendee_id": ids.ticket_id,
    "contact_id": ids.contact_id,
    "payment_id": ids.payment_id,
    "endpoint_id": ids.webhook_endpoint_id,
    "delivery_id": ids.webhook_delivery_id,
    "barcode": ids.barcode,
    "question_id": ids.question_id,
}


class CsvBody(str):
    """A probe body sent as ``text/csv`` (the attendee import) instead of JSON."""


# Bodies that pass validation, so the request reaches the lookup. "{slot}" marks an ID slot.
BODIES: dict[tuple[str, str], Any] = {
    ("PATCH", "/api/v1/events/{event_id}"): {"name": "Renamed"},
    ("POST", "/api/v1/events/{event_id}/ticket-classes"): {"name": "Probe class"},
    ("PATCH", "/api/v1/events/{event_id}/ticket-classes/{class_id}"): {"name": "Renamed"},
    ("POST", "/api/v1/events/{event_id}/attendees"): {
        "ticket_class_id": "{class_id}",
        "contact": {"email": "probe@example.com"},
    },
    ("PATCH", "/api/v1/events/{event_id}/attendees/{attendee_id}"): {"status": "checked_in"},
    ("POST", "/api/v1/events/{event_id}/check-ins"): {"barcode": "{barcode}"},
    ("PATCH", "/api/v1/contacts/{contact_id}"): {"first_name": "Renamed"},
    ("PATCH", "/api/v1/webhook-endpoints/{endpoint_id}"): {"description": "Renamed"},
    ("PUT", "/api/v1/events/{event_id}/waitlist/settings"): {"offer_hours": 2},
    ("POST", "/api/v1/events/{event_id}/questions"): {"label": "Probe", "type": "text"},
    ("PATCH", "/api/v1/events/{event_id}/questions/{question_id}"): {"label": "Renamed"},
    ("POST", "/api/v1/events/{event_id}/attendees/import"): CsvBody(
        "email,ticket_class_name\nprobe@example.com,General Admission\n"
    ),
}
BODYLESS = frozenset({"GET", "DELETE"})
NO_BODY_POSTS = frozenset(
    {
        "/api/v1/webhook-endpoints/{endpoint_id}/rotate-secret",
        "/api/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/redeliver",
    }
)
# ID filters of list endpoints: another organization's ID must list exactly what a missing does.
QUERY_PROBES = [
    ("GET", "/api/v1/events/{event_id}/attendees", "ticket_class_id={class_id}"),
    ("GET", "/api/v1/payments", "event_id={event_id}"),
    ("GET", "/api/v1/payments", "ticket_class_id={class_id}"),
]
TIMED = [
    "/api/v1/events/{event_id}",
    "/api/v1/events/{event_id}/attendees/{attendee_id}",
    "/api/v1/payments/{payment_id}",
]


def world(tenant: Tenant, label: str) -> dict[str, str]:
    """One of every resource an ID can name, owned by ``tenant``."""
    event = tenant.make_event(name=f"{label} event")
    tc = tenant.make_ticket_class(event["id"], name=f"{label} class")
    created = tenant.make_attendees(event["id"], tc["id"], f"{label}@example.com")
    assert created.status_code == 201, created.text
    attendee = created.json()["data"][0]
    contact = tenant.post("/api/v1/contacts", {"email": f"{label}-contact@example.com"})
    assert contact.status_code == 201, contact.text
    found = {
        "event_id": event["id"],
        "class_id": tc["id"],
        "attendee_id": attendee["id"],
        "barcode": attendee["barcode"],
        "contact_id": contact.json()["data"]["id"],
        "payment_id": created.json()["payment_id"],
    }
    question = tenant.post(
        f"/api/v1/events/{event['id']}/questions", {"label": f"{label} asks", "type": "text"}
    )
    assert question.status_code == 201, question.text
    found["question_id"] = question.json()["data"]["id"]
    endpoint = tenant.post("/api/v1/webhook-endpoints", {"url": "http://127.0.0.1:9/hook"})
    if endpoint.status_code != 404:  # webhooks are part of the API
        assert endpoint.status_code == 201, endpoint.text
        found["endpoint_id"] = endpoint.json()["data"]["id"]
        tenant.make_event(name=f"{label} emits")  # something to deliver (and fail: port 9)
        tenant.api.deliver_outbox()
        deliveries = tenant.get(f"/api/v1/webhook-endpoints/{found['endpoint_id']}/deliveries")
        assert deliveries.status_code == 200, deliveries.text
        assert deliveries.json()["data"], "no delivery attempt to probe"
        found["delivery_id"] = deliveries.json()["data"][0]["id"]
    return found


@dataclass
class Probe:
    method: str
    path: str
    query: str = ""
    body: Any = None

    def slots(self) -> list[str]:
        text = self.path + "?" + self.query + json.dumps(self.body)
        return [slot for slot in MISSING_IDS if "{" + slot + "}" in text]

    def render(self, values: dict[str, str]) -> tuple[str, Any]:
        url = self.path + (f"?{self.query}" if self.query else "")
        body = json.dumps(self.body) if self.body is not None else None
        for slot, value in values.items():
            url = url.replace("{" + slot + "}", value)
            body = body.replace("{" + slot + "}", value) if body else body
        if isinstance(self.body, CsvBody):
            return url, CsvBody(json.loads(body or '""'))
        return url, json.loads(body) if body else None


def probes(api: ApiClient) -> list[Probe]:
    found = [Probe(method, path, query) for method, path, query in QUERY_PROBES]
    for route in api.app.routes:  # type: ignore[attr-defined]
        if not isinstance(route, APIRoute) or not route.path.startswith("/api/v1/"):
            continue
        if "{" not in route.path:
            continue
        for method in sorted(route.methods):
            unknown = [name for name in route.param_convertors if name not in MISSING_IDS]
            assert not unknown, f"{method} {route.path}: teach this test the ID slot {unknown}"
            if method in BODYLESS or route.path in NO_BODY_POSTS:
                found.append(Probe(method, route.path))
            else:
                assert (method, route.path) in BODIES, (
                    f"{method} {route.path} has no probe body in {__file__}: add one so the"
                    " cross-organization matrix covers it"
                )
                found.append(Probe(method, route.path, body=BODIES[(method, route.path)]))
    return found


def send(tenant: Tenant, method: str, url: str, body: Any) -> tuple[int, bytes, int]:
    before = tessera_db.STATEMENTS.count
    headers = {"X-API-KEY": tenant.key}
    if isinstance(body, CsvBody):
        response = tenant.api.client.request(
            method, url, content=body.encode(), headers={**headers, "Content-Type": "text/csv"}
        )
    else:
        response = tenant.api.client.request(method, url, json=body, headers=headers)
    return response.status_code, response.content, tessera_db.STATEMENTS.count - before


def snapshot(tenant: Tenant, mine: dict[str, str]) -> list[bytes]:
    paths = [
        f"/api/v1/events/{mine['event_id']}",
        f"/api/v1/events/{mine['event_id']}/ticket-classes/{mine['class_id']}",
        f"/api/v1/events/{mine['event_id']}/attendees/{mine['attendee_id']}",
        f"/api/v1/contacts/{mine['contact_id']}",
        f"/api/v1/payments/{mine['payment_id']}",
    ]
    if "endpoint_id" in mine:
        paths.append(f"/api/v1/webhook-endpoints/{mine['endpoint_id']}")
    paths.append(f"/api/v1/events/{mine['event_id']}/questions/{mine['question_id']}")
    paths.append(f"/api/v1/events/{mine['event_id']}/attendees/export")
    return [tenant.get(path).content for path in paths]


def test_other_organizations_ids_answer_exactly_like_missing_ones(api: ApiClient) -> None:
    caller, owner = api.tenant("Caller"), api.tenant("Owner")
    own, other = world(caller, "caller"), world(owner, "owner")
    missing = {slot: make() for slot, make in MISSING_IDS.items()}
    owner_before = snapshot(owner, other)

    differences: list[str] = []
    pairs = 0
    for probe in probes(api):
        slots = probe.slots()
        for choice in itertools.product(("own", "other", "missing"), repeat=len(slots)):
            if "other" not in choice:
                continue
            pick = {"own": own, "other": other, "missing": missing}
            values = {slot: pick[source][slot] for slot, source in zip(slots, choice, strict=True)}
            twin = {
                slot: missing[slot] if source == "other" else values[slot]
                for slot, source in zip(slots, choice, strict=True)
            }
            url, body = probe.render(values)
            twin_url, twin_body = probe.render(twin)
            seen = send(caller, probe.method, url, body)
            expected = send(caller, probe.method, twin_url, twin_body)
            pairs += 1
            label = (
                f"{probe.method} {probe.path}?{probe.query} {dict(zip(slots, choice, strict=True))}"
            )
            if seen[:2] != expected[:2]:
                differences.append(f"{label}: {seen[:2]} vs missing {expected[:2]}")
            elif seen[2] != expected[2]:
                differences.append(
                    f"{label}: {seen[2]} SQL statements vs {expected[2]} for missing"
                )
            if seen[0] < 400 and "?" not in url:
                differences.append(f"{label}: another organization's row answered {seen[:2]}")

    assert pairs >= 40, f"only {pairs} pairs probed"
    assert not differences, "\n".join(differences)
    assert snapshot(owner, other) == owner_before, "a cross-organization request changed a row"


def _interleaved_medians(tenant: Tenant, urls: tuple[str, str], rounds: int) -> list[float]:
    """Median seconds per URL, the two sent alternately so that noise hits both alike."""
    samples: list[list[float]] = [[], []]
    for _ in range(rounds):
        for index, url in enumerate(urls):
            started = time.perf_counter()
            tenant.get(url)
            samples[index].append(time.perf_counter() - started)
    return [statistics.median(sample) for sample in samples]


@pytest.mark.parametrize("path", TIMED)
def test_another_organizations_id_takes_no_measurably_longer(api: ApiClient, path: str) -> None:
    caller, owner = api.tenant("Caller"), api.tenant("Owner")
    own, other = world(caller, "caller"), world(owner, "owner")
    missing = {slot: make() for slot, make in MISSING_IDS.items()}
    probe = Probe("GET", path)
    slots = probe.slots()
    # The deepest ID is the other organization's (or missing); the parents are the caller's own,
    # so the lookup goes as far as it can before it must find nothing.
    other_url = probe.render({**{s: own[s] for s in slots[:-1]}, slots[-1]: other[slots[-1]]})[0]
    missing_url = probe.render({**{s: own[s] for s in slots[:-1]}, slots[-1]: missing[slots[-1]]})[
        0
    ]
    _interleaved_medians(caller, (other_url, missing_url), 5)  # warm caches alike
    other_median, missing_median = _interleaved_medians(caller, (other_url, missing_url), 30)
    ratio = max(other_median, missing_median) / min(other_median, missing_median)
    assert ratio < 2.0, (  # generous: the SQL statement counts above are the exact proof
        f"{path}: median {other_median * 1e3:.2f} ms for another organization's ID vs"
        f" {missing_median * 1e3:.2f} ms for a missing one"
    )
