"""The registration and waitlist forms: reading a posted form and checking its fields.

Messages are meant to be shown beside their field, in plain words. Question answers (SPEC §10)
are one seam: :func:`questions_for` lists what the form asks and :func:`check_answers` validates
what came back; until the event questions exist, there are none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from fastapi import Request

from tessera.contact.schemas import normalize_email
from tessera.db import Connection

MAX_NAME = 100
MAX_EMAIL = 320


@dataclass(slots=True)
class Posted:
    """A posted form: the first value of each field, and every value (for repeated fields)."""

    values: dict[str, list[str]]

    def get(self, name: str) -> str:
        found = self.values.get(name)
        return found[0].strip() if found else ""

    def all(self, name: str) -> list[str]:
        return self.values.get(name, [])


MAX_BODY = 64 * 1024  # a filled form is a few hundred bytes
MAX_FIELDS = 200


class TooLarge(Exception):
    """The posted form exceeds :data:`MAX_BODY` (answered 413)."""


async def read(request: Request) -> Posted:
    """The posted form, read up to :data:`MAX_BODY` bytes (the API's body guard covers
    ``/api/`` only); more raises :class:`TooLarge`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise TooLarge()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise TooLarge()
        chunks.append(chunk)
    return parse(b"".join(chunks))


def parse(body: bytes) -> Posted:
    """``application/x-www-form-urlencoded`` (what an HTML form sends without files). A value
    with a NUL character (which no field can hold, and PostgreSQL refuses) reads as empty; a
    form of more than :data:`MAX_FIELDS` fields as no form at all."""
    text = body.decode("utf-8", errors="replace")
    try:
        values = parse_qs(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError:
        return Posted({})
    return Posted({k: ["" if "\x00" in v else v for v in vs] for k, vs in values.items()})


@dataclass(slots=True)
class Checked:
    """What a form's fields say once checked: clean values, and messages per field."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def check_person(posted: Posted, checked: Checked) -> None:
    """first_name (required), last_name, email (required, valid): the person's fields."""
    first = posted.get("first_name")
    last = posted.get("last_name")
    email = posted.get("email")
    if not first:
        checked.errors["first_name"] = "Enter your first name."
    elif len(first) > MAX_NAME:
        checked.errors["first_name"] = f"Use at most {MAX_NAME} characters."
    if len(last) > MAX_NAME:
        checked.errors["last_name"] = f"Use at most {MAX_NAME} characters."
    if not email:
        checked.errors["email"] = "Enter your email address."
    elif len(email) > MAX_EMAIL:
        checked.errors["email"] = "This email address is too long."
    else:
        try:
            email = normalize_email(email)
        except ValueError:
            checked.errors["email"] = "Enter a valid email address, like name@example.com."
    checked.values.update(first_name=first, last_name=last or None, email=email)


def check_quantity(posted: Posted, minimum: int, maximum: int, checked: Checked) -> None:
    raw = posted.get("quantity") or str(minimum)
    try:
        quantity = int(raw)
    except ValueError:
        checked.errors["quantity"] = "Enter a whole number of tickets."
        return
    if not minimum <= quantity <= maximum:
        if minimum == maximum:
            checked.errors["quantity"] = f"Order exactly {minimum} tickets."
        else:
            checked.errors["quantity"] = f"Order between {minimum} and {maximum} tickets."
        return
    checked.values["quantity"] = quantity


# Questions (SPEC §10) ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Question:
    """What the form renders for one question: an input named by the question's id."""

    id: str
    label: str
    type: str
    required: bool
    options: tuple[str, ...] = ()


async def questions_for(
    conn: Connection, organization_id: str, event_id: str, class_id: str | None
) -> list[Question]:
    """The questions the form asks for this event (and class, once chosen).

    The seam for SPEC §10: the event questions do not exist yet, so the form asks none. Wiring
    them is returning them here and validating in :func:`check_answers`."""
    return []


def check_answers(questions: list[Question], posted: Posted, checked: Checked) -> dict[str, Any]:
    """The answers to ``questions`` from the posted form (field per question id, repeated for
    multiple choice), with a message per bad or missing required answer in ``checked.errors``."""
    answers: dict[str, Any] = {}
    for question in questions:
        values = [v for v in posted.all(question.id) if v.strip()]
        if not values:
            if question.required:
                checked.errors[question.id] = "Answer this question."
            continue
        answers[question.id] = values if question.type == "multiple_choice" else values[0]
    return answers
