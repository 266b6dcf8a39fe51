"""The attendee export (SPEC §10): columns, quoting, formula injection, filters, streaming."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from tessera.attendee_io.columns import EXPORT_COLUMNS
from tessera.attendee_io.export import cell
from tests.attendee_io.builders import bulk_attendees
from tests.support import ApiClient, Tenant


@pytest.fixture
def acme(api: ApiClient) -> Tenant:
    return api.tenant("Acme")


def export_path(event_id: str) -> str:
    return f"/api/v1/events/{event_id}/attendees/export"


def read_csv(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8"), newline="")))


def spreadsheet_rows(text: str) -> list[list[str]]:
    """An independent, strict RFC 4180 reader, as a spreadsheet's import reads a file: fields
    separated by commas, records by CRLF, a quoted field may hold commas, CRLF and doubled
    quotes; anything else (a bare LF, a quote inside an unquoted field) is an error here."""
    rows: list[list[str]] = []
    row: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] == '"':
            i += 1
            field = []
            while True:
                j = text.index('"', i)
                field.append(text[i:j])
                if text.startswith('""', j):
                    field.append('"')
                    i = j + 2
                    continue
                i = j + 1
                break
            value = "".join(field)
        else:
            j = i
            while j < n and text[j] not in ",\r\n":
                assert text[j] != '"', f"quote inside an unquoted field at {j}"
                j += 1
            value, i = text[i:j], j
        row.append(value)
        if text.startswith(",", i):
            i += 1
        elif text.startswith("\r\n", i):
            rows.append(row)
            row = []
            i += 2
        else:
            assert i == n, f"bare line break or junk at {i}: {text[i : i + 10]!r}"
    assert not row, "the last record must end with CRLF"
    return rows


def _make(tenant: Tenant, event_id: str, class_id: str, email: str, **fields: Any) -> Any:
    body = {"ticket_class_id": class_id, "contact": {"email": email}, **fields}
    response = tenant.post(f"/api/v1/events/{event_id}/attendees", body)
    assert response.status_code == 201, response.text
    return response.json()["data"][0]


def test_columns_values_and_question_columns(acme: Tenant) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    size = acme.post(
        f"/api/v1/events/{event['id']}/questions",
        {"label": "T-shirt size", "type": "single_choice", "options": ["S", "M"]},
    ).json()["data"]
    diet = acme.post(
        f"/api/v1/events/{event['id']}/questions",
        {"label": "Diet", "type": "multiple_choice", "options": ["Vegan", "Halal"]},
    ).json()["data"]
    first = _make(
        acme,
        event["id"],
        ga["id"],
        "ann@example.com",
        contact={
            "email": "ann@example.com",
            "first_name": "Ann",
            "last_name": "Lee",
            "phone": "555 0100",
        },
        answers={size["id"]: "M", diet["id"]: ["Vegan", "Halal"]},
        status="checked_in",
    )
    second = _make(acme, event["id"], ga["id"], "bob@example.com")
    response = acme.get(export_path(event["id"]))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["content-disposition"]
    rows = read_csv(response.content)
    assert rows[0] == [*EXPORT_COLUMNS, "T-shirt size", "Diet"]
    assert spreadsheet_rows(response.content.decode()) == rows
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record == {
        "id": first["id"],
        "status": "checked_in",
        "ticket_class_id": ga["id"],
        "ticket_class_name": "General Admission",
        "first_name": "Ann",
        "last_name": "Lee",
        "email": "ann@example.com",
        "phone": "555 0100",
        "payment_id": first["payment_id"],
        "payment_method": "cash",
        "checked_in_at": first["checked_in_at"],
        "created_at": first["created_at"],
        "updated_at": first["updated_at"],
        "T-shirt size": "M",
        "Diet": "Vegan; Halal",
    }
    assert rows[2][0] == second["id"] and rows[2][-2:] == ["", ""]
    assert len(rows) == 3


def test_quoting_round_trips_commas_quotes_and_line_breaks(acme: Tenant) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    note = acme.post(
        f"/api/v1/events/{event['id']}/questions", {"label": 'Notes, "etc"', "type": "long_text"}
    ).json()["data"]
    tricky = 'He said "hi",\r\nthen left\nand came back'
    _make(
        acme,
        event["id"],
        ga["id"],
        "x@example.com",
        contact={"email": "x@example.com", "first_name": 'O"Brien, Jr', "last_name": "Zoë ✓"},
        answers={note["id"]: tricky},
    )
    content = acme.get(export_path(event["id"])).content
    rows = read_csv(content)
    assert rows[0][-1] == 'Notes, "etc"'
    assert rows[1][4:6] == ['O"Brien, Jr', "Zoë ✓"]
    assert rows[1][-1] == tricky.strip()
    assert spreadsheet_rows(content.decode()) == rows
    assert content.count(b"\r\n") >= 3  # CRLF record ends


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_formula_injection_is_neutralized(acme: Tenant, start: str) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    question = acme.post(
        f"/api/v1/events/{event['id']}/questions", {"label": "Company", "type": "text"}
    ).json()["data"]
    payload = f'{start}HYPERLINK("http://evil","x")'
    _make(
        acme,
        event["id"],
        ga["id"],
        "evil@example.com",
        contact={"email": "evil@example.com", "first_name": payload, "last_name": "-1+2"},
        answers={question["id"]: payload.strip()},
    )
    rows = read_csv(acme.get(export_path(event["id"])).content)
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["first_name"] == "'" + payload
    assert record["last_name"] == "'-1+2"
    assert record["Company"].startswith("'")
    for row in rows:
        for value in row:
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value


@pytest.mark.parametrize(
    ("value", "shown", "read_back"),
    [
        ("\tx", "'\tx", "'\tx"),
        ("\rx", '"\'\rx"', "'\rx"),
        ("x=1", "x=1", "x=1"),
        ("", "", ""),
        (None, "", ""),
        ("'=x", "'=x", "'=x"),
        ('=a,"b"', '"\'=a,""b"""', '\'=a,"b"'),
        ("a\nb", '"a\nb"', "a\nb"),
    ],
)
def test_one_cell(value: str | None, shown: str, read_back: str) -> None:
    # API strings are trimmed, so no stored value starts with whitespace; the rule still holds
    assert cell(value) == shown
    assert next(csv.reader(io.StringIO(f"{shown},\r\n", newline=""))) == [read_back, ""]


def test_filters_are_the_lists(acme: Tenant) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    vip = acme.make_ticket_class(event["id"], name="VIP")
    a = _make(acme, event["id"], ga["id"], "ann@example.com")
    b = _make(acme, event["id"], vip["id"], "bob@example.com")
    c = _make(acme, event["id"], ga["id"], "cid@example.com", status="pending_approval")

    def ids(**params: str) -> list[str]:
        response = acme.get(export_path(event["id"]), params=params)
        assert response.status_code == 200, response.text
        return [row[0] for row in read_csv(response.content)[1:]]

    assert ids() == [a["id"], b["id"]]  # default: valid, checked_in
    assert ids(status="pending_approval") == [c["id"]]
    assert ids(status="valid,pending_approval") == [a["id"], b["id"], c["id"]]
    assert ids(ticket_class_id=vip["id"]) == [b["id"]]
    assert ids(q="ANN") == [a["id"]]
    assert ids(email="BOB@example.com") == [b["id"]]
    bad = acme.get(export_path(event["id"]), params={"status": "lost"})
    assert bad.status_code == 400 and bad.json()["code"] == "validation_failed"
    assert "status" in bad.json()["details"]["fieldErrors"]


def test_deleted_question_keeps_its_answers_in_the_export(acme: Tenant) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    path = f"/api/v1/events/{event['id']}/questions"
    kept = acme.post(path, {"label": "Company", "type": "text"}).json()["data"]
    unanswered = acme.post(path, {"label": "Unused", "type": "text"}).json()["data"]
    _make(acme, event["id"], ga["id"], "a@example.com", answers={kept["id"]: "Acme"})
    acme.delete(f"{path}/{kept['id']}")
    acme.delete(f"{path}/{unanswered['id']}")
    new = acme.post(path, {"label": "Company", "type": "text"}).json()["data"]
    _make(acme, event["id"], ga["id"], "b@example.com", answers={new["id"]: "Beta"})
    rows = read_csv(acme.get(export_path(event["id"])).content)
    assert rows[0][len(EXPORT_COLUMNS) :] == ["Company", "Company (deleted)"]
    assert [row[len(EXPORT_COLUMNS) :] for row in rows[1:]] == [["", "Acme"], ["Beta", ""]]


def test_a_deleted_question_keeps_its_own_label_as_the_header(acme: Tenant) -> None:
    """SPEC §10: one column per question, headed by its label; deleting the question keeps
    the answers in exports, under the same header a spreadsheet already reads them by."""
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    path = f"/api/v1/events/{event['id']}/questions"
    diet = acme.post(path, {"label": "Diet", "type": "text"}).json()["data"]
    _make(acme, event["id"], ga["id"], "a@example.com", answers={diet["id"]: "Vegan"})
    acme.delete(f"{path}/{diet['id']}")
    rows = read_csv(acme.get(export_path(event["id"])).content)
    assert rows[0][len(EXPORT_COLUMNS) :] == ["Diet"]
    assert rows[1][len(EXPORT_COLUMNS) :] == ["Vegan"]


def test_tenancy_scope_and_unknown_event(api: ApiClient, acme: Tenant) -> None:
    event = acme.make_event()
    other = api.tenant("Other")
    response = other.get(export_path(event["id"]))
    assert response.status_code == 404 and response.json()["error"] == "Event not found"
    no_read = acme.new_key("events:read")
    response = no_read.get(export_path(event["id"]))
    assert response.status_code == 403 and response.json()["required"] == "attendees:read"
    assert acme.get(export_path("nope")).status_code == 404


def test_export_spans_many_chunks_in_order(acme: Tenant) -> None:
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    bulk_attendees(acme, event["id"], ga["id"], 4_500)  # three chunks of 2,000
    rows = read_csv(acme.get(export_path(event["id"])).content)
    assert len(rows) == 4_501
    emails = [row[6] for row in rows[1:]]
    assert emails == [f"guest{n}@example.com" for n in range(4_500)]
    assert len({row[0] for row in rows[1:]}) == 4_500
