"""Questions: create, change, soft delete; and the answers a ticket's holder gives.

The functions other flows use to take answers:

- :func:`questions_for_class` lists an event's questions that apply to a ticket class (to
  render a form);
- :func:`validate_answers` checks raw answers for a class and returns them as stored, with
  ``enforce_required`` deciding whether ``required`` binds (the public form: yes; the
  organizer's manual add: no) and ``from_text`` for form or CSV values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tessera import errors
from tessera.attendee_io.columns import RESERVED, fold
from tessera.db import Connection, IntegrityViolation, Row
from tessera.event import repository as events
from tessera.kit import clock, ids, jsonutil
from tessera.question import answers, repository
from tessera.question.schemas import QuestionCreate, QuestionUpdate

MAX_QUESTIONS = 100
LABEL_TAKEN = "A question with this label already exists"


def question_not_found() -> errors.NotFound:
    return errors.NotFound("Question not found")


def present(row: Row | Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "event_id": row["event_id"],
        "label": row["label"],
        "type": row["type"],
        "options": _list(row["options"]),
        "required": bool(row["required"]),
        "ticket_class_ids": _list(row["ticket_class_ids"]),
        "position": row["position"],
        "created_at": clock.iso(row["created_at"]),
        "updated_at": clock.iso(row["updated_at"]),
    }


def _list(value: Any) -> list[str]:
    return list(jsonutil.loads(value)) if isinstance(value, str | bytes) else list(value)


def applies_to(question: Mapping[str, Any], ticket_class_id: str) -> bool:
    classes = question["ticket_class_ids"]
    return not classes or ticket_class_id in classes


async def questions_for_class(
    conn: Connection, organization_id: str, event_id: str, ticket_class_id: str
) -> list[dict[str, Any]]:
    """The event's live questions that apply to ``ticket_class_id``, in order, as the API
    shows them (``id``, ``label``, ``type``, ``options``, ``required``, ...)."""
    rows = await repository.live(conn, organization_id, event_id)
    shown = [present(row) for row in rows]
    return [q for q in shown if applies_to(q, ticket_class_id)]


async def validate_answers(
    conn: Connection,
    organization_id: str,
    event_id: str,
    ticket_class_id: str,
    raw: Mapping[str, Any],
    *,
    enforce_required: bool,
    from_text: bool = False,
) -> dict[str, Any]:
    """``raw`` answers (question ID → value) checked for a ticket class; returns them as
    stored, or raises ``400 validation_failed`` with ``fieldErrors["answers.<id>"]``."""
    rows = await repository.live(conn, organization_id, event_id)
    return check_answers(
        [present(row) for row in rows],
        ticket_class_id,
        raw,
        enforce_required=enforce_required,
        from_text=from_text,
    )


def check_answers(
    questions: Sequence[Mapping[str, Any]],
    ticket_class_id: str,
    raw: Mapping[str, Any],
    *,
    enforce_required: bool,
    from_text: bool = False,
) -> dict[str, Any]:
    """:func:`validate_answers` over questions already read (as :func:`present` shows them)."""
    by_id = {q["id"]: q for q in questions}
    cleaned: dict[str, Any] = {}
    field_errors: dict[str, list[str]] = {}
    for question_id, value in raw.items():
        question = by_id.get(question_id)
        if question is None:
            field_errors[f"answers.{question_id}"] = ["Unknown question"]
            continue
        if not applies_to(question, ticket_class_id):
            field_errors[f"answers.{question_id}"] = [
                "This question does not apply to this ticket class"
            ]
            continue
        if answers.is_empty(value):
            continue
        try:
            cleaned[question_id] = answers.check(question, value, from_text=from_text)
        except answers.Invalid as exc:
            field_errors[f"answers.{question_id}"] = [f"Answer {exc}"]
    if enforce_required:
        for question in questions:
            if (
                question["required"]
                and applies_to(question, ticket_class_id)
                and f"answers.{question['id']}" not in field_errors
                and answers.is_missing_required(question, cleaned.get(question["id"]))
            ):
                field_errors[f"answers.{question['id']}"] = ["This question is required"]
    if field_errors:
        raise errors.ValidationFailed(field_errors)
    return cleaned


def _options(kind: str, options: list[str] | None) -> list[str]:
    if kind not in answers.CHOICE_TYPES:
        if options:
            raise errors.field_error(
                "options", "Options are only for single_choice and multiple_choice questions"
            )
        return []
    cleaned = [option.strip() for option in options or []]
    if not cleaned:
        raise errors.field_error("options", "A choice question needs at least one option")
    if len(set(cleaned)) != len(cleaned):
        raise errors.field_error("options", "Options must be unique")
    if kind == "multiple_choice" and any(answers.CHOICE_SEPARATOR in o for o in cleaned):
        raise errors.field_error(
            "options",
            f"Options of a multiple_choice question must not contain "
            f"'{answers.CHOICE_SEPARATOR}' (it separates choices in CSV files)",
        )
    return cleaned


def _label_key(label: str) -> str:
    key = fold(label)
    if not key:
        raise errors.field_error("label", "A label needs at least one letter or digit")
    if key in RESERVED:
        raise errors.field_error(
            "label", "This label is a column of the attendee CSV files; choose another"
        )
    return key


async def _class_ids(
    conn: Connection, organization_id: str, event_id: str, given: list[str]
) -> list[str]:
    wanted = list(dict.fromkeys(given))
    if wanted:
        known = await repository.class_ids_of_event(conn, organization_id, event_id)
        unknown = [class_id for class_id in wanted if class_id not in known]
        if unknown:
            raise errors.field_error(
                "ticket_class_ids", f"Not a ticket class of this event: {', '.join(unknown)}"
            )
    return wanted


async def _event(conn: Connection, organization_id: str, event_id: str) -> None:
    if await events.get(conn, organization_id, event_id) is None:
        raise errors.event_not_found()


async def create_question(
    conn: Connection, organization_id: str, event_id: str, body: QuestionCreate, now: int
) -> dict[str, Any]:
    """A new question; its label (folded as CSV headers are) is unique among the event's
    questions and is not an attendee column; at most 100 per event."""
    await _event(conn, organization_id, event_id)
    label_key = _label_key(body.label)
    options = _options(body.type, body.options)
    class_ids = await _class_ids(conn, organization_id, event_id, body.ticket_class_ids)
    if await repository.count_live(conn, organization_id, event_id) >= MAX_QUESTIONS:
        raise errors.Unprocessable(
            f"An event has at most {MAX_QUESTIONS} questions", code="too_many_questions"
        )
    if await repository.label_taken(conn, organization_id, event_id, label_key):
        raise errors.Conflict(LABEL_TAKEN, code="question_label_taken")
    position = body.position
    if position is None:
        position = await repository.next_position(conn, organization_id, event_id)
    values = {
        "id": ids.question_id(),
        "event_id": event_id,
        "label": body.label,
        "label_key": label_key,
        "type": body.type,
        "options": jsonutil.dumps(options).decode(),
        "required": body.required,
        "ticket_class_ids": jsonutil.dumps(class_ids).decode(),
        "position": position,
        "created_at": now,
        "updated_at": now,
    }
    try:
        await repository.insert(conn, organization_id, values)
    except IntegrityViolation:  # a concurrent create took the label first
        raise errors.Conflict(LABEL_TAKEN, code="question_label_taken") from None
    return present(values)


async def _found(conn: Connection, organization_id: str, event_id: str, question_id: str) -> Row:
    await _event(conn, organization_id, event_id)
    row = await repository.get(conn, organization_id, event_id, question_id)
    if row is None:
        raise question_not_found()
    return row


async def list_questions(
    conn: Connection, organization_id: str, event_id: str, ticket_class_id: str | None = None
) -> list[dict[str, Any]]:
    await _event(conn, organization_id, event_id)
    shown = [present(row) for row in await repository.live(conn, organization_id, event_id)]
    if ticket_class_id is not None:
        shown = [q for q in shown if applies_to(q, ticket_class_id)]
    return shown


async def get_question(
    conn: Connection, organization_id: str, event_id: str, question_id: str
) -> dict[str, Any]:
    return present(await _found(conn, organization_id, event_id, question_id))


async def update_question(
    conn: Connection,
    organization_id: str,
    event_id: str,
    question_id: str,
    body: QuestionUpdate,
    now: int,
) -> dict[str, Any]:
    """Partial change. The type is fixed (answers already given were checked against it);
    options of a choice question may change, and answers already given stay as they were."""
    given = body.model_fields_set
    if not given:
        raise errors.BadRequest("At least one field is required", code="validation_failed")
    if "type" in given:
        raise errors.field_error("type", "The type cannot be changed; create a new question")
    row = await _found(conn, organization_id, event_id, question_id)
    current = present(row)
    values = {
        "label": current["label"],
        "label_key": row["label_key"],
        "options": current["options"],
        "required": current["required"],
        "ticket_class_ids": current["ticket_class_ids"],
        "position": current["position"],
        "updated_at": now,
    }
    if body.label is not None:
        values["label"] = body.label
        values["label_key"] = _label_key(body.label)
        if await repository.label_taken(
            conn, organization_id, event_id, values["label_key"], question_id
        ):
            raise errors.Conflict(LABEL_TAKEN, code="question_label_taken")
    if "options" in given:
        values["options"] = _options(current["type"], body.options)
    if body.required is not None:
        values["required"] = body.required
    if body.ticket_class_ids is not None:
        values["ticket_class_ids"] = await _class_ids(
            conn, organization_id, event_id, body.ticket_class_ids
        )
    if body.position is not None:
        values["position"] = body.position
    stored = {
        **values,
        "options": jsonutil.dumps(values["options"]).decode(),
        "ticket_class_ids": jsonutil.dumps(values["ticket_class_ids"]).decode(),
    }
    try:
        await repository.update(conn, organization_id, question_id, stored)
    except IntegrityViolation:
        raise errors.Conflict(LABEL_TAKEN, code="question_label_taken") from None
    return present({**dict(row), **stored})


async def delete_question(
    conn: Connection, organization_id: str, event_id: str, question_id: str, now: int
) -> dict[str, Any]:
    """Soft delete: the question leaves forms and lists; answers already given stay on the
    tickets and in exports."""
    await _found(conn, organization_id, event_id, question_id)
    if not await repository.soft_delete(conn, organization_id, question_id, now):
        raise question_not_found()
    return {"deleted": True, "id": question_id}
