"""One answer checked against its question's type and options, and shown as CSV text.

Answers arrive in two forms: JSON values (the API: strict types, ``"5"`` is not a number) and
text (HTML forms and CSV cells, where everything is a string). Both end as the same JSON value,
stored on the ticket: a string (``text``, ``long_text``, ``single_choice``, ``phone``, ``date``
as ``YYYY-MM-DD``), a list of strings in the order of the options (``multiple_choice``), a
boolean (``checkbox``) or a number (``number``). An empty value (``""``, ``[]``, ``null``) is no
answer at all.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date
from typing import Any

TYPES = (
    "text",
    "long_text",
    "single_choice",
    "multiple_choice",
    "checkbox",
    "number",
    "phone",
    "date",
)
CHOICE_TYPES = frozenset({"single_choice", "multiple_choice"})
TEXT_LIMITS = {"text": 1_000, "long_text": 10_000}
# What a CSV cell or form field joins several choices with (and the export writes).
CHOICE_SEPARATOR = ";"
_PHONE = re.compile(r"^\+?[0-9 ().\-/]+$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_TRUE = frozenset({"true", "yes", "y", "1", "on", "x"})
_FALSE = frozenset({"false", "no", "n", "0", "off"})


class Invalid(ValueError):
    """The answer does not fit its question; the message is for the person who gave it."""


class _Empty(Exception):
    """No answer was given."""


def is_empty(value: Any) -> bool:
    return (
        value is None
        or value == ""
        or value == []
        or (isinstance(value, str) and not value.strip())
    )


def check(question: Mapping[str, Any], value: Any, *, from_text: bool = False) -> Any:
    """The answer as stored, or :class:`Invalid`. ``from_text``: the value is a string (or,
    for ``multiple_choice``, a list of strings) typed into a form or a CSV cell."""
    kind = question["type"]
    if "\x00" in str(value):
        raise Invalid("must not contain NUL characters")
    if kind in TEXT_LIMITS:
        text = _string(value)
        if len(text) > TEXT_LIMITS[kind]:
            raise Invalid(f"must be at most {TEXT_LIMITS[kind]} characters")
        if kind == "text" and ("\n" in text or "\r" in text):
            raise Invalid("must be one line (use a long_text question for more)")
        return text
    if kind == "single_choice":
        return _option(question, _string(value))
    if kind == "multiple_choice":
        return _options(question, value, from_text)
    if kind == "checkbox":
        return _checkbox(value, from_text)
    if kind == "number":
        return _number(value, from_text)
    if kind == "phone":
        return _phone(_string(value))
    if kind == "date":
        return _date(_string(value))
    raise Invalid(f"has an unknown question type {kind!r}")  # pragma: no cover


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise Invalid("must be a string")
    return value.strip()


def _option(question: Mapping[str, Any], text: str) -> str:
    options: list[str] = question["options"]
    if text in options:
        return text
    folded = [o for o in options if o.casefold() == text.casefold()]
    if len(folded) == 1:  # a hand-typed cell or form value in another case
        return folded[0]
    raise Invalid(f"must be one of: {', '.join(options)}")


def _options(question: Mapping[str, Any], value: Any, from_text: bool) -> list[str]:
    if from_text and isinstance(value, str):
        value = [part for part in value.split(CHOICE_SEPARATOR) if part.strip()]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise Invalid("must be a list of options")
    chosen = {_option(question, item.strip()) for item in value}
    return [option for option in question["options"] if option in chosen]


def _checkbox(value: Any, from_text: bool) -> bool:
    if isinstance(value, bool):
        return value
    if from_text and isinstance(value, str):
        folded = value.strip().lower()
        if folded in _TRUE:
            return True
        if folded in _FALSE:
            return False
        raise Invalid("must be yes or no (true/false)")
    raise Invalid("must be true or false")


def _number(value: Any, from_text: bool) -> int | float:
    if from_text and isinstance(value, str):
        text = value.strip()
        if not _NUMBER.match(text):
            raise Invalid("must be a number, e.g. 42 or 3.5")
        value = float(text) if any(c in text for c in ".eE") else int(text)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid("must be a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise Invalid("must be a finite number")
    if abs(value) > 1e15:
        raise Invalid("must be between -1e15 and 1e15")
    return value


def _phone(text: str) -> str:
    digits = sum(char.isdigit() for char in text)
    if len(text) > 40 or not _PHONE.match(text) or not 3 <= digits <= 20:
        raise Invalid("must be a phone number, e.g. +1 555 0100")
    return text


def _date(text: str) -> str:
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise Invalid("must be a date as YYYY-MM-DD") from None


def is_missing_required(question: Mapping[str, Any], value: Any) -> bool:
    """A required checkbox must be ticked; any other required question answered."""
    return value is None or (question["type"] == "checkbox" and value is not True)


def as_text(value: Any) -> str:
    """An answer as one CSV cell, in the form :func:`check` reads back with ``from_text``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return f"{CHOICE_SEPARATOR} ".join(str(item) for item in value)
    return str(value)
