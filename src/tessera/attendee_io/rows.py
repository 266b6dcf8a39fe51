"""One row of an import file as the Create Attendee body it stands for.

A row fails here, before any database work, exactly as the same body sent to Create Attendee
would: ``400 validation_failed`` with ``fieldErrors`` on the body's paths (``contact.email``,
``quantity``, ``answers.<question id>``), or ``404 Ticket class not found`` for a class that
is not an active class of the event.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from tessera import errors
from tessera.attendee.schemas import AttendeeCreate
from tessera.attendee_io.upload import Upload
from tessera.exception_handlers import field_errors
from tessera.question import answers as answer_rules
from tessera.question.service import check_answers

_WHOLE = re.compile(r"^\d{1,6}$")


@dataclass(frozen=True, slots=True)
class EventShape:
    """What every row of one import is checked against, read once."""

    class_ids: frozenset[str]  # the event's active classes
    class_names: Mapping[str, str]  # name → ID; also by case-folded name when unambiguous
    questions: Sequence[Mapping[str, Any]]  # live questions, as the API shows them


def shape(
    classes: Sequence[Mapping[str, Any]], questions: Sequence[Mapping[str, Any]]
) -> EventShape:
    names: dict[str, str] = {}
    folded: dict[str, list[str]] = {}
    for row in classes:
        names[row["name"]] = row["id"]
        folded.setdefault(row["name"].casefold(), []).append(row["id"])
    for name, found in folded.items():
        if len(found) == 1:
            names.setdefault(name, found[0])
    return EventShape(frozenset(row["id"] for row in classes), names, questions)


def body(upload: Upload, cells: list[str], event: EventShape) -> AttendeeCreate:
    """The row as a validated Create Attendee body, or the AppError that create would give."""
    problems: dict[str, list[str]] = {}
    class_id = upload.cell(cells, "ticket_class_id")
    if class_id is None:
        name = upload.cell(cells, "ticket_class_name")
        if name is None:
            problems["ticket_class_id"] = ["Give ticket_class_id or ticket_class_name"]
        else:
            class_id = event.class_names.get(name) or event.class_names.get(name.casefold())
            if class_id is None:
                raise errors.ticket_class_not_found()
    given: dict[str, Any] = {
        "ticket_class_id": class_id or "",
        "contact": {
            key: value
            for key in ("email", "first_name", "last_name", "phone")
            if (value := upload.cell(cells, key)) is not None
        },
    }
    if "email" not in given["contact"]:
        problems["contact.email"] = ["This field is required"]
    quantity = upload.cell(cells, "quantity")
    if quantity is not None:
        if _WHOLE.match(quantity):
            given["quantity"] = int(quantity)
        else:
            problems["quantity"] = ["Must be a whole number"]
    for key in ("status", "payment_method"):
        if (value := upload.cell(cells, key)) is not None:
            given[key] = value.lower()
    send_email = upload.cell(cells, "send_email")
    if send_email is not None:
        try:
            given["send_email"] = answer_rules.check(
                {"type": "checkbox"}, send_email, from_text=True
            )
        except answer_rules.Invalid:
            problems["send_email"] = ["Must be true or false (yes/no)"]
    if class_id is not None and class_id not in event.class_ids:
        raise errors.ticket_class_not_found()
    raw_answers = upload.answer_cells(cells)
    if raw_answers and class_id is not None:
        try:
            given["answers"] = check_answers(
                event.questions, class_id, raw_answers, enforce_required=False, from_text=True
            )
        except errors.ValidationFailed as failed:
            problems.update(failed.details["fieldErrors"] if failed.details else {})
    try:
        validated = AttendeeCreate.model_validate(given)
    except ValidationError as exc:
        for path, messages in field_errors(exc.errors()).items():
            problems.setdefault(path, messages)
        validated = None
    if problems or validated is None:
        raise errors.ValidationFailed(problems)
    return validated
