"""GET, PATCH and DELETE /contacts/{id} (SPEC §3.5): partial changes, tenancy, GDPR erasure."""

from __future__ import annotations

from typing import Any

import pytest

from tests.payment.builders import contact_row, insert_payment, make_contact, ticket_rows
from tests.support import ApiClient, FakeClock, Tenant

CONTACTS = "/api/v1/contacts"
NOT_FOUND = {"error": "Contact not found", "code": "not_found"}


@pytest.fixture
def acme(api: ApiClient) -> Tenant:
    return api.tenant()


def test_get_unknown_is_404(acme: Tenant) -> None:
    response = acme.get(f"{CONTACTS}/con_doesnotexist")
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_another_organizations_contact_is_the_same_404(api: ApiClient, acme: Tenant) -> None:
    contact = make_contact(acme, "jane@example.com", first_name="Jane")
    globex = api.tenant("Globex")
    path = f"{CONTACTS}/{contact['id']}"
    missing = globex.get(f"{CONTACTS}/con_doesnotexist")
    for response in (
        globex.get(path),
        globex.patch(path, {"first_name": "Hacked"}),
        globex.delete(path),
    ):
        assert response.status_code == 404
        assert response.content == missing.content
    assert acme.get(path).json()["data"] == contact


def test_patch_changes_only_the_fields_given(acme: Tenant, clock: FakeClock) -> None:
    contact = make_contact(
        acme, "jane@example.com", first_name="Jane", last_name="Doe", phone="555"
    )
    clock.advance(seconds=1)
    response = acme.patch(f"{CONTACTS}/{contact['id']}", {"last_name": "Smith"})
    assert response.status_code == 200, response.text
    changed = response.json()["data"]
    assert changed == {**contact, "last_name": "Smith", "updated_at": changed["updated_at"]}
    assert changed["updated_at"] > contact["updated_at"]
    assert acme.get(f"{CONTACTS}/{contact['id']}").json()["data"] == changed


def test_patch_null_or_empty_clears_a_name_or_the_phone(acme: Tenant) -> None:
    contact = make_contact(
        acme, "jane@example.com", first_name="Jane", last_name="Doe", phone="555"
    )
    response = acme.patch(f"{CONTACTS}/{contact['id']}", {"phone": None, "last_name": ""})
    assert response.status_code == 200, response.text
    changed = response.json()["data"]
    assert (changed["first_name"], changed["last_name"], changed["phone"]) == ("Jane", None, None)


def test_patch_email_is_normalized(acme: Tenant) -> None:
    contact = make_contact(acme, "jane@example.com")
    response = acme.patch(f"{CONTACTS}/{contact['id']}", {"email": " Jane.Doe@EXAMPLE.com"})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["email"] == "jane.doe@example.com"
    # The upsert now finds the contact under its new address.
    again = acme.post(CONTACTS, {"email": "jane.doe@example.com"})
    assert again.status_code == 200
    assert again.json()["data"]["id"] == contact["id"]


def test_patch_to_another_contacts_email_is_409(acme: Tenant) -> None:
    jane = make_contact(acme, "jane@example.com")
    make_contact(acme, "john@example.com")
    response = acme.patch(f"{CONTACTS}/{jane['id']}", {"email": "JOHN@example.com"})
    assert response.status_code == 409
    assert response.json() == {
        "error": "A contact with this email already exists",
        "code": "contact_email_taken",
    }
    assert acme.get(f"{CONTACTS}/{jane['id']}").json()["data"]["email"] == "jane@example.com"


def test_patch_to_its_own_email_is_fine(acme: Tenant) -> None:
    jane = make_contact(acme, "jane@example.com")
    response = acme.patch(f"{CONTACTS}/{jane['id']}", {"email": "Jane@Example.com"})
    assert response.status_code == 200, response.text


def test_an_empty_patch_is_400(acme: Tenant) -> None:
    contact = make_contact(acme, "jane@example.com")
    response = acme.patch(f"{CONTACTS}/{contact['id']}", {})
    assert response.status_code == 400
    assert response.json()["error"] == "At least one field is required"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": None}, "email"),
        ({"email": "nope"}, "email"),
        ({"first_name": "x" * 101}, "first_name"),
        ({"phone": "1" * 41}, "phone"),
        ({"status": "vip"}, "status"),
    ],
)
def test_invalid_patches_change_nothing(acme: Tenant, body: dict[str, Any], field: str) -> None:
    contact = make_contact(acme, "jane@example.com", first_name="Jane")
    response = acme.patch(f"{CONTACTS}/{contact['id']}", body)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "Validation failed"
    assert list(response.json()["details"]["fieldErrors"]) == [field]
    assert acme.get(f"{CONTACTS}/{contact['id']}").json()["data"] == contact


def test_patch_unknown_is_404(acme: Tenant) -> None:
    response = acme.patch(f"{CONTACTS}/con_doesnotexist", {"first_name": "X"})
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_deleting_a_contact_without_tickets_removes_it(api: ApiClient, acme: Tenant) -> None:
    contact = make_contact(acme, "jane@example.com")
    path = f"{CONTACTS}/{contact['id']}"
    response = acme.delete(path)
    assert response.status_code == 200, response.text
    assert response.json() == {"deleted": True, "id": contact["id"]}
    assert api.count("contacts") == 0
    assert acme.get(path).json() == NOT_FOUND
    assert acme.get(path).status_code == 404
    assert acme.delete(path).status_code == 404
    assert acme.get(CONTACTS).json()["data"] == []


def test_deleting_a_contact_with_tickets_erases_it_and_keeps_the_tickets(
    api: ApiClient, acme: Tenant, clock: FakeClock
) -> None:
    event = acme.make_event()
    klass = acme.general_admission(event["id"])
    contact = make_contact(
        acme, "jane@example.com", first_name="Jane", last_name="Doe", phone="555"
    )
    payment = insert_payment(
        acme, event_id=event["id"], ticket_class_id=klass["id"], contact_id=contact["id"], tickets=2
    )
    tickets_before = ticket_rows(acme, contact["id"])
    clock.advance(seconds=1)

    response = acme.delete(f"{CONTACTS}/{contact['id']}")
    assert response.status_code == 200, response.text
    assert response.json() == {"deleted": True, "id": contact["id"]}

    row = contact_row(acme, contact["id"])
    assert row is not None
    assert row["email"] == f"{contact['id']}@erased.invalid"
    assert (row["first_name"], row["last_name"], row["phone"]) == (None, None, None)
    assert row["erased_at"] is not None and row["erased_at"] == row["updated_at"]
    assert ticket_rows(acme, contact["id"]) == tickets_before

    assert acme.get(f"{CONTACTS}/{contact['id']}").json() == NOT_FOUND
    assert acme.patch(f"{CONTACTS}/{contact['id']}", {"first_name": "J"}).status_code == 404
    assert acme.delete(f"{CONTACTS}/{contact['id']}").status_code == 404
    assert acme.get(CONTACTS).json()["data"] == []
    assert acme.get(CONTACTS, params={"q": "erased"}).json()["data"] == []
    shown = acme.get(f"/api/v1/payments/{payment['id']}").json()["data"]
    assert shown["customer_email"] == f"{contact['id']}@erased.invalid"
    assert shown["ticket_ids"] == payment["ticket_ids"]

    # The address is free again: a new contact, not the erased one.
    again = acme.post(CONTACTS, {"email": "jane@example.com"})
    assert again.status_code == 201
    assert again.json()["data"]["id"] != contact["id"]


def test_a_payment_without_tickets_also_keeps_the_contact(api: ApiClient, acme: Tenant) -> None:
    # An invited upgrade moves tickets to a new payment and can leave the old one empty.
    event = acme.make_event()
    klass = acme.general_admission(event["id"])
    contact = make_contact(acme, "jane@example.com")
    insert_payment(
        acme, event_id=event["id"], ticket_class_id=klass["id"], contact_id=contact["id"], tickets=0
    )
    assert acme.delete(f"{CONTACTS}/{contact['id']}").status_code == 200
    row = contact_row(acme, contact["id"])
    assert row is not None and row["erased_at"] is not None
    assert api.count("payments") == 1


def test_erasure_through_the_attendee_api(acme: Tenant) -> None:
    event = acme.make_event()
    klass = acme.general_admission(event["id"])
    issued = acme.make_attendees(event["id"], klass["id"], email="jane@example.com")
    assert issued.status_code == 201, issued.text
    contact = acme.get(CONTACTS, params={"email": "jane@example.com"}).json()["data"][0]
    assert acme.delete(f"{CONTACTS}/{contact['id']}").status_code == 200
    attendee = issued.json()["data"][0]
    shown = acme.get(f"/api/v1/events/{event['id']}/attendees/{attendee['id']}")
    assert shown.status_code == 200, shown.text
    assert shown.json()["data"]["email"] == f"{contact['id']}@erased.invalid"
    assert shown.json()["data"]["first_name"] is None
    assert shown.json()["data"]["barcode"] == attendee["barcode"]


def test_write_scope_is_needed_to_change_or_delete(acme: Tenant) -> None:
    contact = make_contact(acme, "jane@example.com")
    reader = acme.new_key("contacts:read")
    expected = {
        "error": "insufficient_scope",
        "code": "insufficient_scope",
        "required": "contacts:write",
    }
    for response in (
        reader.patch(f"{CONTACTS}/{contact['id']}", {"first_name": "X"}),
        reader.delete(f"{CONTACTS}/{contact['id']}"),
    ):
        assert response.status_code == 403
        assert response.json() == expected
    assert reader.get(f"{CONTACTS}/{contact['id']}").status_code == 200
