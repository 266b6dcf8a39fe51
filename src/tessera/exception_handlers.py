"""The one place that turns errors into HTTP responses of the documented shape.

The edge (tessera.edge) asks :func:`error_response` for whatever an endpoint, a dependency, the
router (404, 405) or its own guards raised: Starlette's exception middlewares are not in the
stack, so this is the only mapping there is."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from tessera.errors import AppError
from tessera.kit.http import json_response
from tessera.kit.pagination import PAGINATION_FIELDS


def app_error_response(exc: AppError) -> Response:
    return json_response(exc.body(), exc.status, exc.headers)


# Pydantic puts the name of the union member it tried into ``loc`` (``"str"``,
# ``"constrained-str"``, ``"VenueIn"``, a discriminator tag). Clients know only the JSON field
# names, which are snake_case: anything else in the path is such a member name, not a field.
_FIELD_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_TYPE_TAGS = frozenset(
    {
        "str",
        "int",
        "float",
        "bool",
        "bytes",
        "decimal",
        "list",
        "dict",
        "tuple",
        "set",
        "none",
    }
)


def _is_union_tag(part: Any) -> bool:
    return isinstance(part, str) and (part in _TYPE_TAGS or not _FIELD_NAME.match(part))


def _field_path(loc: tuple[Any, ...]) -> tuple[str, str]:
    """``("body", "contact", "email")`` → ``("body", "contact.email")``."""
    where = str(loc[0]) if loc else "body"
    parts = [str(part) for part in loc[1:] if not _is_union_tag(part)]
    return where, ".".join(parts) if parts else where


_DECIMAL_REPR = re.compile(r"Decimal\('([^']*)'\)")

_MESSAGES = {
    "missing": "This field is required",
    "extra_forbidden": "Unknown field",
}


def _message(error: dict[str, Any]) -> str:
    if error["type"] in _MESSAGES:
        return _MESSAGES[error["type"]]
    message = str(error.get("msg", "Invalid value"))
    message = _DECIMAL_REPR.sub(r"\1", message)  # "Decimal('99.9')" is Python, not API
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def field_errors(errors: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Pydantic errors of a body model as ``fieldErrors``, paths and messages exactly as a
    request's body would show them (for bodies built elsewhere, e.g. from an import's rows)."""
    found: dict[str, list[str]] = {}
    for error in errors:
        _, path = _field_path(("body", *error["loc"]))
        found.setdefault(path, []).append(_message(dict(error)))
    return found


def _malformed_json() -> Response:
    return json_response(
        {
            "error": "Malformed JSON body",
            "code": "malformed_json",
            "details": {"reason": "The request body is not valid JSON."},
        },
        400,
    )


def _validation_error(exc: RequestValidationError) -> Response:
    errors = list(exc.errors())
    if any(error["type"] == "json_invalid" for error in errors):
        return _malformed_json()
    field_errors: dict[str, list[str]] = {}
    pagination = True
    for error in errors:
        where, path = _field_path(tuple(error["loc"]))
        if where == "body" and path == "body":
            path = "body"
            message = (
                "A JSON object body is required"
                if error["type"] in ("missing", "model_attributes_type", "dict_type")
                else _message(error)
            )
        else:
            message = _message(error)
        if not (where == "query" and path in PAGINATION_FIELDS):
            pagination = False
        field_errors.setdefault(path, []).append(message)
    error, code = (
        ("Invalid pagination parameters", "invalid_pagination")
        if pagination
        else ("Validation failed", "validation_failed")
    )
    return json_response(
        {"error": error, "code": code, "details": {"fieldErrors": field_errors}}, 400
    )


_FASTAPI_UNPARSEABLE = "There was an error parsing the body"
_HTTP_CODES = {404: ("Not found", "not_found"), 405: ("Method not allowed", "method_not_allowed")}


def _http_error(exc: StarletteHTTPException) -> Response:
    if exc.status_code == 400 and exc.detail == _FASTAPI_UNPARSEABLE:
        # JSON that parses as far as the decoder is concerned but not as far as Python goes: an
        # integer of 5,000 digits, nesting deeper than the recursion limit.
        return _malformed_json()
    message, code = _HTTP_CODES.get(exc.status_code, (str(exc.detail), "http_error"))
    return json_response({"error": message, "code": code}, exc.status_code, exc.headers)


INTERNAL_ERROR = {"error": "Internal server error", "code": "internal_error"}


def error_response(exc: Exception) -> Response | None:
    """The documented answer to ``exc``; None for an unexpected error, which the edge logs and
    answers with :data:`INTERNAL_ERROR` (never a stack trace or a message in the body)."""
    if isinstance(exc, AppError):
        return app_error_response(exc)
    if isinstance(exc, RequestValidationError):
        return _validation_error(exc)
    if isinstance(exc, StarletteHTTPException):
        return _http_error(exc)
    return None
