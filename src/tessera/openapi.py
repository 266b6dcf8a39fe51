"""The error contract and authentication, written into the OpenAPI document in one place.

FastAPI documents only what the routes declare: success bodies, and a ``422`` with its own
validation-error shape that Tessera never sends (validation failures are ``400``, and ``422`` is a
business refusal). Every ``/api/v1`` operation shares one error vocabulary (SPEC §1), so it is
declared here once rather than repeated on each route: the ``Error`` body for each status an
operation can answer, the ``X-API-KEY`` security scheme, and the ``Idempotency-Key`` header on
the creating ``POST`` operations (SPEC §2). Clients and the fuzz tests (tests/fuzz/) read it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

API_PREFIX = "/api/v1"
ERROR_REF = {"$ref": "#/components/schemas/Error"}

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "description": (
        "Every error body. `error` carries the documented message, `code` a stable snake_case"
        " name; some errors add documented members (`required` on 403, `sold_count` on a"
        " refused delete, `result` on a repeated check-in)."
    ),
    "required": ["error", "code"],
    "properties": {
        "error": {"type": "string"},
        "code": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
        "details": {"type": "object"},
    },
}

# Status → what it means on this API. Which of them an operation lists follows from its shape.
_MEANING = {
    400: "Validation failed, malformed JSON, invalid pagination or Idempotency-Key",
    401: "Missing, unknown or revoked X-API-KEY",
    403: "The API key lacks the scope this operation needs",
    404: "The resource does not exist or belongs to another organization",
    409: "Conflict: capacity exceeded, a duplicate, or the same Idempotency-Key in flight",
    413: "Request body over 1 MiB",
    415: "Request body is not application/json",
    422: "Refused by a business rule, or an Idempotency-Key reused with a different request",
    429: "Rate limit exceeded (see Retry-After)",
    431: "Request headers over 8 KiB each or 32 KiB together",
    503: "The database is unavailable or busy; nothing was written. Retry shortly.",
}
_ALWAYS = (400, 401, 403, 429, 431, 503)
_WRITES = frozenset({"post", "put", "patch", "delete"})
_BODIES = frozenset({"post", "put", "patch"})

IDEMPOTENCY_KEY_PARAMETER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Executes the request at most once per key (per API key, for 24 hours); a repeat gets"
        " the stored response with `Idempotent-Replay: true`."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
}

_HTML_NOT_FOUND = {"description": "Unknown payment", "content": {"text/html": {}}}
_STATUS_SCHEMA = {
    "type": "object",
    "required": ["status"],
    "properties": {"status": {"type": "string"}},
}
_READY_SCHEMA = {
    "type": "object",
    "required": ["status", "database"],
    "properties": {"status": {"type": "string"}, "database": {"type": "string"}},
}


def _error_statuses(method: str, path: str) -> list[int]:
    statuses = set(_ALWAYS)
    if "{" in path:
        statuses.add(404)
    if method in _WRITES:
        statuses |= {409, 422}
    if method in _BODIES:
        statuses |= {413, 415}
    return sorted(statuses)


def _is_fastapi_validation(response: dict[str, Any]) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return bool(schema.get("$ref", "").endswith("/HTTPValidationError"))


def _document_api_operation(method: str, path: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    if _is_fastapi_validation(responses.get("422", {})):
        del responses["422"]
    for status in _error_statuses(method, path):
        content = {"application/json": {"schema": ERROR_REF}}
        responses.setdefault(str(status), {"description": _MEANING[status], "content": content})
    operation["security"] = [{"ApiKey": []}]
    if method == "post" and "201" in responses:
        parameters: list[dict[str, Any]] = operation.setdefault("parameters", [])
        if not any(p.get("name", "").lower() == "idempotency-key" for p in parameters):
            parameters.append(IDEMPOTENCY_KEY_PARAMETER)


def document(spec: dict[str, Any]) -> dict[str, Any]:
    """Add the error contract and authentication to FastAPI's generated document."""
    components = spec.setdefault("components", {})
    schemas: dict[str, Any] = components.setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    components["securitySchemes"] = {
        "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-KEY"}
    }
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            if path.startswith(API_PREFIX + "/"):
                _document_api_operation(method, path, operation)
            elif path.startswith("/t/"):
                responses = operation.setdefault("responses", {})
                if _is_fastapi_validation(responses.get("422", {})):
                    del responses["422"]
                responses.setdefault("404", _HTML_NOT_FOUND)
    health = spec.get("paths", {}).get("/healthz", {}).get("get")
    if health is not None:
        health["responses"]["200"]["content"]["application/json"]["schema"] = _STATUS_SCHEMA
    ready = spec.get("paths", {}).get("/readyz", {}).get("get")
    if ready is not None:
        ready["responses"]["200"]["content"]["application/json"]["schema"] = _READY_SCHEMA
        ready["responses"]["503"] = {
            "description": "The database is unreachable or migrations are not current",
            "content": {"application/json": {"schema": ERROR_REF}},
        }
    if "/HTTPValidationError'" not in str(spec.get("paths")):  # FastAPI's, now unreferenced
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
    return spec


def install(app: FastAPI) -> None:
    """Serve the documented contract at ``/openapi.json`` (built once, on first request)."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if not getattr(app.state, "openapi_documented", False):
            app.openapi_schema = document(generate())
            app.state.openapi_documented = True
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
