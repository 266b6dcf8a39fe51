"""The registration and waitlist forms: reading a posted form and checking its fields.

Messages are meant to be shown beside their field, in plain words. Question answers (SPEC §10):
:func:`questions_for` lists what the form asks (through the question service) and
:func:`check_answers` validates what came back with the service's own rules, ``required``
binding; only the questions that apply to the chosen ticket class bind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from fastapi import Request

from tessera import errors
from tessera.contact.schemas import normalize_email
from tessera.db import Connection
from tessera.question import repository as question_repository
from tessera.question import service as question_service

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
    ticket_class_ids: tuple[str, ...] = ()  # empty: every class

    def applies_to(self, class_id: str | None) -> bool:
        return not self.ticket_class_ids or class_id in self.ticket_class_ids

    def as_api(self) -> dict[str, Any]:
        """The question as :mod:`tessera.question.service` reads questions."""
        return {
            "id": self.id,
            "label": self.label,
            "type": self.type,
            "required": self.required,
            "options": list(self.options),
            "ticket_class_ids": list(self.ticket_class_ids),
        }


def _question(shown: dict[str, Any]) -> Question:
    return Question(
        id=shown["id"],
        label=shown["label"],
        type=shown["type"],
        required=shown["required"],
        options=tuple(shown["options"]),
        ticket_class_ids=tuple(shown["ticket_class_ids"]),
    )


async def questions_for(
    conn: Connection, organization_id: str, event_id: str, class_id: str | None
) -> list[Question]:
    """The questions the form asks: those of the chosen class, or (``class_id`` None, the
    page before a class is chosen) every live question of the event, each knowing its classes."""
    if class_id is not None:
        shown = await question_service.questions_for_class(
            conn, organization_id, event_id, class_id
        )
    else:
        rows = await question_repository.live(conn, organization_id, event_id)
        shown = [question_service.present(row) for row in rows]
    return [_question(q) for q in shown]


def raw_answers(questions: list[Question], class_id: str | None, posted: Posted) -> dict[str, Any]:
    """What was typed for the questions that apply to ``class_id``: a list per multiple
    choice question (its checkboxes repeat the field), the text of any other."""
    raw: dict[str, Any] = {}
    for question in questions:
        if not question.applies_to(class_id):
            continue  # another class's question: its field is ignored, never bound
        if question.type == "multiple_choice":
            raw[question.id] = [v for v in posted.all(question.id) if v.strip()]
        else:
            raw[question.id] = posted.get(question.id)
    return raw


def check_answers(
    questions: list[Question], class_id: str | None, posted: Posted, checked: Checked
) -> dict[str, Any]:
    """The raw answers to the questions of ``class_id`` (field per question id, repeated for
    multiple choice), after checking them with the question service's own rules with
    ``required`` binding; a message per bad or missing answer goes in ``checked.errors``
    under the question's id. The registration checks them again in its transaction."""
    raw = raw_answers(questions, class_id, posted)
    try:
        question_service.check_answers(
            [q.as_api() for q in questions],
            class_id or "",
            raw,
            enforce_required=True,
            from_text=True,
        )
    except errors.ValidationFailed as failed:
        checked.errors.update(answer_errors(failed))
    return raw


def answer_errors(failed: errors.ValidationFailed) -> dict[str, str]:
    """``fieldErrors["answers.<id>"]`` as a plain message per question id."""
    found: dict[str, list[str]] = (failed.details or {}).get("fieldErrors", {})
    messages: dict[str, str] = {}
    for name, texts in found.items():
        if name.startswith("answers."):
            messages[name.removeprefix("answers.")] = _sentence(texts[0] if texts else "")
    return messages


def _sentence(text: str) -> str:
    if text == "This question is required":
        return "Answer this question."
    text = text.removeprefix("Answer ")
    return f"This answer {text}." if text else "Check this answer."
