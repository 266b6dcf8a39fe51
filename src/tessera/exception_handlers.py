"""The one place that turns errors into HTTP responses of the documented shape."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from tessera.errors import AppError
from tessera.kit.http import json_response
from tessera.kit.pagination import PAGINATION_FIELDS

log = logging.getLogger("tessera.errors")


def app_error_response(exc: AppError) -> Response:
    return json_response(exc.body(), exc.status, exc.headers)


async def _app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    return app_error_response(exc)


def _field_path(loc: tuple[Any, ...]) -> tuple[str, str]:
    """``("body", "contact", "email")`` → ``("body", "contact.email")``."""
    where = str(loc[0]) if loc else "body"
    parts = [str(part) for part in loc[1:]]
    return where, ".".join(parts) if parts else where


_MESSAGES = {
    "missing": "This field is required",
    "extra_forbidden": "Unknown field",
}


def _message(error: dict[str, Any]) -> str:
    if error["type"] in _MESSAGES:
        return _MESSAGES[error["type"]]
    message = str(error.get("msg", "Invalid value"))
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(error["type"] == "json_invalid" for error in errors):
        return json_response(
            {"error": "Malformed JSON body", "code": "malformed_json",
             "details": {"reason": "The request body is not valid JSON."}},
            400,
        )
    field_errors: dict[str, list[str]] = {}
    pagination = True
    for error in errors:
        where, path = _field_path(tuple(error["loc"]))
        if where == "body" and path == "body":
            path = "body"
            message = "A JSON object body is required" if error["type"] in (
                "missing", "model_attributes_type", "dict_type") else _message(error)
        else:
            message = _message(error)
        if not (where == "query" and path in PAGINATION_FIELDS):
            pagination = False
        field_errors.setdefault(path, []).append(message)
    if pagination:
        return json_response(
            {"error": "Invalid pagination parameters", "code": "invalid_pagination",
             "details": {"fieldErrors": field_errors}},
            400,
        )
    return json_response(
        {"error": "Validation failed", "code": "validation_failed",
         "details": {"fieldErrors": field_errors}},
        400,
    )


_HTTP_CODES = {404: ("Not found", "not_found"), 405: ("Method not allowed", "method_not_allowed")}


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message, code = _HTTP_CODES.get(exc.status_code, (str(exc.detail), "http_error"))
    return json_response({"error": message, "code": code}, exc.status_code, exc.headers)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return json_response({"error": "Internal server error", "code": "internal_error"}, 500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
