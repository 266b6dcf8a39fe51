"""The references a create's rows keep without foreign keys (migration 0010_pgcpu).

A ticket's organization, event, class and payment, a payment's organization, event and class
and a contact's organization are guaranteed by the code that makes them, not by keys;
``tessera.db.integrity`` is the check, and these tests run it after every kind of create, on
SQLite and PostgreSQL (one statement and transaction alike), and prove it sees a broken one.
"""

from __future__ import annotations

import pytest

from tessera.db import integrity
from tests.support import ApiClient


def broken(api: ApiClient) -> dict[str, int]:
    found: dict[str, int] = api.run(integrity.broken_references)
    return found


def test_every_kind_of_create_keeps_every_reference(api: ApiClient) -> None:
    acme, globex = api.tenant("Acme"), api.tenant("Globex")
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    vip = acme.make_ticket_class(event["id"], quantity_total=3)
    approval = acme.make_ticket_class(event["id"], require_approval=True)
    for fields in (
        {"quantity": 2},
        {"status": "invited"},
        {"status": "checked_in", "payment_method": "free"},
        {"payment_method": "external"},
    ):
        assert acme.make_attendees(event["id"], ga["id"], **fields).status_code == 201
    # An invited ticket upgraded into another class, and a pending one (no seat taken).
    assert acme.make_attendees(event["id"], vip["id"]).status_code == 201
    assert acme.make_attendees(event["id"], approval["id"], "pat@example.com").status_code == 201
    # Refused creates write nothing that could dangle: a full class, another organization's
    # event, and its own event with the other organization's class.
    assert acme.make_attendees(event["id"], vip["id"], quantity=5).status_code == 409
    assert globex.make_attendees(event["id"], ga["id"]).status_code == 404
    assert globex.make_attendees(globex.make_event()["id"], ga["id"]).status_code == 404
    assert api.count("tickets") == 6  # the upgrade made none
    assert broken(api) == {}


@pytest.mark.parametrize(
    ("sql", "check"),
    [
        ("UPDATE tickets SET ticket_class_id = 'prod_gone'", "ticket_class"),
        ("UPDATE tickets SET event_id = 'AbCdEfGhIjKlMnOpQrSt'", "ticket_event"),
        ("UPDATE tickets SET payment_id = 'pay_gone'", "ticket_payment"),
        ("UPDATE payments SET organization_id = 'org_gone'", "payment_event"),
        ("UPDATE payments SET ticket_class_id = 'prod_gone'", "payment_class"),
        ("UPDATE contacts SET organization_id = 'org_gone'", "contact_organization"),
    ],
)
def test_the_check_finds_what_a_foreign_key_refused(api: ApiClient, sql: str, check: str) -> None:
    acme = api.tenant()
    event = acme.make_event()
    assert acme.make_attendees(event["id"], acme.general_admission(event["id"])["id"]).is_success
    assert broken(api) == {}

    async def corrupt(conn: object) -> None:
        await conn.execute(sql)  # type: ignore[attr-defined]

    api.run(corrupt)
    assert check in broken(api)
