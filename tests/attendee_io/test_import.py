"""The attendee import (SPEC §10): rows as Create Attendee, dry run, limits, idempotency."""

from __future__ import annotations

import codecs
import hashlib
from typing import Any

import httpx
import pytest

from tessera.kit import jsonutil
from tests.support import ApiClient, Tenant, row_counts


@pytest.fixture
def acme(api: ApiClient) -> Tenant:
    return api.tenant("Acme")


def send(
    tenant: Tenant,
    event_id: str,
    content: bytes | str,
    *,
    dry_run: bool = False,
    key: str | None = None,
    content_type: str = "text/csv",
) -> httpx.Response:
    headers = {"Content-Type": content_type}
    if key is not None:
        headers["Idempotency-Key"] = key
    return tenant.post(
        f"/api/v1/events/{event_id}/attendees/import",
        None,
        content=content.encode() if isinstance(content, str) else content,
        headers=headers,
        params={"dry_run": "true"} if dry_run else None,
    )


def attendees(
    tenant: Tenant, event_id: str, status: str = "valid,checked_in,pending_approval,invited"
) -> list[dict[str, Any]]:
    response = tenant.get(
        f"/api/v1/events/{event_id}/attendees", params={"status": status, "page_size": 200}
    )
    found: list[dict[str, Any]] = response.json()["data"]
    return found


def test_rows_are_created_through_create_attendee(acme: Tenant) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    vip = acme.make_ticket_class(event["id"], name="VIP")
    company = acme.post(
        f"/api/v1/events/{event['id']}/questions", {"label": "Company", "type": "text"}
    ).json()["data"]
    csv_text = (
        "E-Mail,First Name, LAST_NAME ,Ticket Class Name,quantity,status,Company\r\n"
        "ann@example.com,Ann,Lee,General Admission,2,,Acme\r\n"
        "bob@example.com,Bob,,vip,,checked_in,\r\n"
    ).replace("E-Mail", "Email")
    response = send(acme, event["id"], codecs.BOM_UTF8 + csv_text.encode())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["rows"] == 2 and body["created"] == 2 and body["failed"] == 0
    assert [r["row"] for r in body["results"]] == [2, 3]
    assert all(
        r["status"] == "created" and r["payment_id"].startswith("pay_") for r in body["results"]
    )
    found = attendees(acme, event["id"])
    assert [(a["email"], a["ticket_class_id"], a["status"]) for a in found] == [
        ("ann@example.com", ga["id"], "valid"),
        ("ann@example.com", ga["id"], "valid"),
        ("bob@example.com", vip["id"], "checked_in"),
    ]
    assert found[0]["answers"] == {company["id"]: "Acme"}
    assert found[2]["answers"] == {}


def test_rows_fail_one_by_one_with_create_errors(acme: Tenant) -> None:
    event = acme.make_event()
    small = acme.make_ticket_class(event["id"], name="Small", quantity_total=2)
    size = acme.post(
        f"/api/v1/events/{event['id']}/questions",
        {"label": "Size", "type": "single_choice", "options": ["S", "M"]},
    ).json()["data"]
    rows = [
        "email,ticket_class_id,quantity,Size",
        f"a@example.com,{small['id']},1,S",
        f"not-an-email,{small['id']},1,",
        f"b@example.com,{small['id']},1,XXL",
        "c@example.com,prod_missing,1,",
        f"d@example.com,{small['id']},2,",  # only one seat left: the class fills up half-way
        f"e@example.com,{small['id']},1,m",
        f"f@example.com,{small['id']},1,",  # full now
        f"g@example.com,{small['id']},abc,",
    ]
    response = send(acme, event["id"], "\n".join(rows) + "\n")
    assert response.status_code == 200, response.text
    results = {r["row"]: r for r in response.json()["results"]}
    assert results[2]["status"] == "created"
    assert (
        results[3]["code"] == "validation_failed"
        and "contact.email" in results[3]["details"]["fieldErrors"]
    )
    assert results[4]["code"] == "validation_failed"
    assert list(results[4]["details"]["fieldErrors"]) == [f"answers.{size['id']}"]
    assert results[5] == {
        "row": 6,
        "status": "failed",
        "error": "Ticket class not found",
        "code": "not_found",
    } | {"row": 5}
    assert results[6]["code"] == "capacity_exceeded"
    assert results[6]["error"] == "Capacity exceeded: only 1 seats remain"
    assert results[6]["details"] == {"remaining": 1, "limit": "ticket_class"}
    assert results[7]["status"] == "created"
    assert results[8]["code"] == "capacity_exceeded"
    assert (
        results[9]["code"] == "validation_failed"
        and "quantity" in results[9]["details"]["fieldErrors"]
    )
    assert response.json()["created"] == 2 and response.json()["failed"] == 6
    assert [a["answers"] for a in attendees(acme, event["id"])] == [
        {size["id"]: "S"},
        {size["id"]: "M"},
    ]


def test_dry_run_writes_nothing_and_predicts_capacity(acme: Tenant) -> None:
    event = acme.make_event(capacity=3)
    ga = acme.general_admission(event["id"])
    rows = ["email,ticket_class_id,quantity"] + [
        f"guest{n}@example.com,{ga['id']},1" for n in range(5)
    ]
    before = row_counts(acme.api)
    dry = send(acme, event["id"], "\n".join(rows), dry_run=True)
    assert dry.status_code == 200, dry.text
    body = dry.json()
    assert body["dry_run"] is True
    assert [r["status"] for r in body["results"]] == ["created"] * 3 + ["failed"] * 2
    assert body["results"][3]["code"] == "capacity_exceeded"
    assert body["results"][3]["details"] == {"remaining": 0, "limit": "event"}
    assert row_counts(acme.api) == before
    real = send(acme, event["id"], "\n".join(rows))
    assert [r["status"] for r in real.json()["results"]] == [r["status"] for r in body["results"]]


def test_invited_tickets_are_upgraded_like_create(acme: Tenant) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    invited = acme.make_attendees(event["id"], ga["id"], "ann@example.com", status="invited")
    response = send(acme, event["id"], f"email,ticket_class_id\nann@example.com,{ga['id']}\n")
    assert response.json()["created"] == 1
    found = attendees(acme, event["id"])
    assert len(found) == 1 and found[0]["id"] == invited.json()["data"][0]["id"]
    assert found[0]["status"] == "valid"


def test_an_export_imports_as_it_is(acme: Tenant) -> None:
    source = acme.make_event()
    ga = acme.general_admission(source["id"])
    q = acme.post(
        f"/api/v1/events/{source['id']}/questions", {"label": "Motto", "type": "long_text"}
    ).json()["data"]
    created = acme.post(
        f"/api/v1/events/{source['id']}/attendees",
        {
            "ticket_class_id": ga["id"],
            "contact": {"email": "x@example.com", "first_name": "=cmd", "phone": "+1 555 0100"},
            "answers": {q["id"]: '-dash, "quoted"\nnext'},
        },
    )
    assert created.status_code == 201, created.text
    exported = acme.get(f"/api/v1/events/{source['id']}/attendees/export").content
    target = acme.make_event()
    q2 = acme.post(
        f"/api/v1/events/{target['id']}/questions", {"label": "motto", "type": "long_text"}
    ).json()["data"]
    # into another event: its ticket_class_id column would name the source's class
    text = exported.decode().replace(ga["id"], "")
    response = send(acme, target["id"], text)
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 1, response.text
    imported = attendees(acme, target["id"])[0]
    assert imported["first_name"] == "=cmd"
    assert imported["answers"] == {q2["id"]: '-dash, "quoted"\nnext'}


@pytest.mark.parametrize(
    ("content", "content_type", "status", "code"),
    [
        (b"", "text/csv", 400, "empty_file"),
        (b"name,age\nx,1\n", "text/csv", 400, "unknown_columns"),
        (b"email,email,ticket_class_id\n", "text/csv", 400, "duplicate_columns"),
        (b"first_name\nAnn\n", "text/csv", 400, "missing_columns"),
        (b'email,ticket_class_id\n"unterminated,x\n', "text/csv", 400, "malformed_csv"),
        (b'email,ticket_class_id\n"ab"c,x\n', "text/csv", 400, "malformed_csv"),
        (b"email,ticket_class_id\nx\x00y,p\n", "text/csv", 400, "malformed_csv"),
        (
            "email,ticket_class_id\nzoë@example.com,p\n".encode("latin-1"),
            "text/csv",
            400,
            "invalid_encoding",
        ),
        ("email,ticket_class_id\n".encode("utf-16"), "text/csv", 400, "invalid_encoding"),
        (b"email,ticket_class_id\n", "text/csv; charset=windows-1252", 415, "invalid_encoding"),
        (b'{"email": "x"}', "application/json", 415, "unsupported_media_type"),
        (b"email,ticket_class_id\na,b,c,d\n", "text/csv", 400, "malformed_csv"),
    ],
)
def test_bad_files_are_refused_whole(
    acme: Tenant, content: bytes, content_type: str, status: int, code: str
) -> None:
    event = acme.make_event()
    before = row_counts(acme.api)
    response = send(acme, event["id"], content, content_type=content_type, key="k1")
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert response.json()["error"]
    assert row_counts(acme.api) == before


def test_limits_rows_and_bytes(acme: Tenant) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    many = "email,ticket_class_id\n" + "".join(
        f"g{n}@example.com,{ga['id']}\n" for n in range(10_001)
    )
    response = send(acme, event["id"], many)
    assert response.status_code == 400 and response.json()["code"] == "too_many_rows"
    huge = b"email,ticket_class_id\n" + b"x" * (5 * 1024 * 1024)
    response = send(acme, event["id"], huge)
    assert response.status_code == 413 and "5 MiB" in response.json()["error"]
    assert acme.api.count("tickets") == 0


def test_idempotent_replay_and_reuse(acme: Tenant) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    text = f"email,ticket_class_id\na@example.com,{ga['id']}\nb@example.com,{ga['id']}\n"
    first = send(acme, event["id"], text, key="imp-1")
    again = send(acme, event["id"], text, key="imp-1")
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replay"] == "true"
    assert first.content == again.content
    assert acme.api.count("tickets") == 2
    other = send(acme, event["id"], text + f"c@example.com,{ga['id']}\n", key="imp-1")
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert acme.api.count("attendee_imports") == 0  # progress is gone once the outcome is stored


def test_a_resumed_import_replays_finished_rows(acme: Tenant) -> None:
    """The state a crash after row 5 leaves (a lapsed lease; rows 2-5 recorded with their
    tickets; no stored outcome): the re-sent file replays those and creates only 6 and 7."""
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    text = "email,ticket_class_id\n" + "".join(f"g{n}@example.com,{ga['id']}\n" for n in range(6))
    path = f"/api/v1/events/{event['id']}/attendees/import"
    fingerprint = jsonutil.fingerprint(
        "POST", path, {"dry_run": False, "sha256": hashlib.sha256(text.encode()).hexdigest()}
    )
    done = send(acme, event["id"], "\n".join(text.splitlines()[:5]) + "\n")
    assert done.json()["created"] == 4
    before = done.json()["results"]

    async def crash_state(conn: Any) -> None:
        await conn.execute(
            "INSERT INTO attendee_imports (id, organization_id, event_id, api_key_id,"
            " idempotency_key, fingerprint, lease_owner, lease_until, created_at)"
            " VALUES ('imp_x', $1, $2, $3, 'imp-2', $4, 'dead', 0, $5)",
            acme.organization_id,
            event["id"],
            acme.key_id,
            fingerprint,
            acme.api.now(),
        )
        for result in before:
            await conn.execute(
                "INSERT INTO attendee_import_rows (import_id, row_no, result)"
                " VALUES ('imp_x', $1, $2)",
                result["row"],
                jsonutil.dumps(result).decode(),
            )

    acme.api.run(crash_state)
    resumed = send(acme, event["id"], text, key="imp-2")
    assert resumed.status_code == 200, resumed.text
    results = resumed.json()["results"]
    assert results[:4] == before
    assert [r["status"] for r in results[4:]] == ["created", "created"]
    found = attendees(acme, event["id"])
    assert sorted(a["email"] for a in found) == sorted(f"g{n}@example.com" for n in range(6))
    assert acme.api.count("attendee_imports") == 0
    assert send(acme, event["id"], text, key="imp-2").content == resumed.content


def test_a_key_in_flight_is_409(acme: Tenant) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    text = f"email,ticket_class_id\na@example.com,{ga['id']}\n"
    path = f"/api/v1/events/{event['id']}/attendees/import"
    fingerprint = jsonutil.fingerprint(
        "POST", path, {"dry_run": False, "sha256": hashlib.sha256(text.encode()).hexdigest()}
    )

    async def running(conn: Any) -> None:
        await conn.execute(
            "INSERT INTO attendee_imports (id, organization_id, event_id, api_key_id,"
            " idempotency_key, fingerprint, lease_owner, lease_until, created_at)"
            " VALUES ('imp_y', $1, $2, $3, 'imp-3', $4, 'alive', $5, $5)",
            acme.organization_id,
            event["id"],
            acme.key_id,
            fingerprint,
            acme.api.now() + 10_000_000,
        )

    acme.api.run(running)
    response = send(acme, event["id"], text, key="imp-3")
    assert response.status_code == 409
    assert response.json()["code"] == "idempotent_request_in_progress"
    assert response.headers["Retry-After"] == "1"
    assert acme.api.count("tickets") == 0


def test_scope_and_tenancy(api: ApiClient, acme: Tenant) -> None:
    event = acme.make_event()
    reader = acme.new_key("attendees:read")
    refused = send(reader, event["id"], "email,ticket_class_id\n")
    assert refused.status_code == 403 and refused.json()["required"] == "attendees:write"
    other = api.tenant("Other")
    missing = send(other, event["id"], "email,ticket_class_id\n", key="k")
    assert missing.status_code == 404 and missing.json()["error"] == "Event not found"
    replayed = send(other, event["id"], "email,ticket_class_id\n", key="k")
    assert replayed.status_code == 404 and replayed.headers["Idempotent-Replay"] == "true"


def test_send_email_queues_the_confirmation_like_create(acme: Tenant) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    text = (
        f"email,ticket_class_id,send_email\n"
        f"a@example.com,{ga['id']},yes\nb@example.com,{ga['id']},no\nc@example.com,{ga['id']},\n"
    )
    assert send(acme, event["id"], text).json()["created"] == 3
    assert acme.api.count("outbox", "kind = 'email'") == 1
    bad = send(
        acme, event["id"], f"email,ticket_class_id,send_email\nd@example.com,{ga['id']},perhaps\n"
    )
    assert bad.json()["results"][0]["details"]["fieldErrors"] == {
        "send_email": ["Must be true or false (yes/no)"]
    }
