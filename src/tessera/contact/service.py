"""Contacts: upsert by email, changes, and deletion that never breaks ticket history."""

from __future__ import annotations

from typing import Any

from tessera import errors
from tessera.contact import repository
from tessera.contact.schemas import ContactCreate, ContactUpdate, normalize_email
from tessera.db import Connection, IntegrityViolation, Row
from tessera.kit import clock, ids
from tessera.kit.pagination import Page, envelope
from tessera.waitlist import repository as waitlist

EMAIL_TAKEN = "A contact with this email already exists"


def present(row: Row | dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "email": row["email"],
        "first_name": row["first_name"],
        "last_name": row["last_name"],
        "phone": row["phone"],
        "created_at": clock.iso(row["created_at"]),
        "updated_at": clock.iso(row["updated_at"]),
    }


async def upsert_contact(
    conn: Connection, organization_id: str, body: ContactCreate, now: int
) -> tuple[dict[str, Any], bool]:
    """Create the contact for ``body.email``, or update the one that has it.

    The rule is Create Attendee's (SPEC §3.3 step 1), so both paths agree: an existing contact
    takes the non-empty ``first_name``, ``last_name`` and ``phone`` given, and keeps its values
    for fields that are absent, null or empty — a POST never erases data. Returns the contact and
    whether it was created (the endpoint answers 201 for a new contact, 200 for an existing one).
    """
    new_id = ids.contact_id()
    row = await repository.upsert(
        conn,
        organization_id,
        new_id=new_id,
        email=body.email,
        first_name=body.first_name,
        last_name=body.last_name,
        phone=body.phone,
        now=now,
    )
    return present(row), row["id"] == new_id


async def get_contact(conn: Connection, organization_id: str, contact_id: str) -> dict[str, Any]:
    row = await repository.get(conn, organization_id, contact_id)
    if row is None:
        raise errors.contact_not_found()
    return present(row)


def _email_filter(value: str | None) -> str | None:
    text = (value or "").strip()
    if not text:
        return None
    try:
        return normalize_email(text)
    except ValueError:
        return text.lower()  # no contact has an invalid address: this matches nothing


async def list_contacts(
    conn: Connection, organization_id: str, email: str | None, q: str | None, page: Page
) -> dict[str, Any]:
    """Live contacts, newest first. ``email`` matches the stored form exactly; ``q`` is a
    case-insensitive substring of first name, last name or email."""
    rows, total = await repository.list_page(
        conn,
        organization_id,
        email=_email_filter(email),
        q=(q or "").strip() or None,
        limit=page.page_size,
        offset=page.offset,
    )
    return envelope([present(row) for row in rows], total, page)


async def update_contact(
    conn: Connection, organization_id: str, contact_id: str, body: ContactUpdate, now: int
) -> dict[str, Any]:
    """Partial change. Unlike the upsert, a PATCH sets what it is given: null or "" clears a
    name or the phone. The email may not be null, nor one another contact already has (409)."""
    given = body.model_fields_set
    if not given:
        raise errors.BadRequest("At least one field is required", code="empty_update")
    if "email" in given and body.email is None:
        raise errors.field_error("email", "may not be null")
    values: dict[str, Any] = {field: getattr(body, field) or None for field in given}
    values["updated_at"] = now
    try:
        row = await repository.update(conn, organization_id, contact_id, values)
    except IntegrityViolation:
        raise errors.Conflict(EMAIL_TAKEN, code="contact_email_taken") from None
    if row is None:
        raise errors.contact_not_found()
    return present(row)


async def delete_contact(
    conn: Connection, organization_id: str, contact_id: str, now: int
) -> dict[str, Any]:
    """Delete a contact; one that tickets or payments refer to is erased instead (GDPR).

    Erasure replaces the email with ``<id>@erased.invalid``, clears names and phone and sets
    ``erased_at``; tickets and payments keep pointing at the row, so history stays intact. Either
    way the contact is gone from the API (404, absent from lists), and the address is free for a
    new contact. Their waitlist entries (by email) are erased too and leave the line. The row
    lock makes the check-then-delete safe against a concurrent Create Attendee, whose upsert of
    the same contact waits for it.
    """
    contact = await repository.get(conn, organization_id, contact_id, lock=True)
    if contact is None:
        raise errors.contact_not_found()
    await waitlist.forget_email(conn, organization_id, contact["email"], now)
    if await repository.has_history(conn, organization_id, contact_id):
        await repository.erase(conn, organization_id, contact_id, now)
    else:
        await repository.delete(conn, organization_id, contact_id)
    return {"deleted": True, "id": contact_id}
