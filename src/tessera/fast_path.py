"""Serving the hottest endpoints without FastAPI's per-request dependency solving.

FastAPI resolves an endpoint's arguments anew on every request by walking its dependency graph
(and runs plain ``def`` dependencies in a thread pool): on Create Attendee that generic
machinery measured about a seventh of the server's CPU per request. An endpoint marked with
:func:`fast_path` is declared to FastAPI exactly as before, so its signature documents it in
OpenAPI and routing finds it as before; :func:`install` then reads that declaration once, at
startup, and swaps the route's request handler for one that resolves just those arguments and
calls the very same endpoint function.

The shapes it serves, and refuses at startup otherwise: path parameters, query parameters (of
the endpoint or of a plain dependency that takes only query parameters, called inline: it must
be cheap and never block), a scope dependency from :func:`tessera.auth.dependencies.require`,
the ``Request``, and one JSON body. Validation goes through FastAPI's own field validators, and
failures raise FastAPI's ``RequestValidationError`` with the locations FastAPI gives, so every
error keeps its documented shape.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response
from fastapi._compat import ModelField
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import request_params_to_args
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from tessera.auth.dependencies import authorize

Endpoint = Callable[..., Awaitable[Response]]
PARSED_BODY = "parsed_json_body"  # request.state: the decoded body, for idempotency fingerprints
_MARK = "__fast_path__"


def fast_path(endpoint: Endpoint) -> Endpoint:
    """Mark an endpoint to be served by :func:`install`."""
    setattr(endpoint, _MARK, True)
    return endpoint


@dataclass(frozen=True, slots=True)
class _Plan:
    """How to resolve one endpoint's arguments, read off its FastAPI declaration."""

    endpoint: Endpoint
    request_name: str | None
    scopes: tuple[tuple[str, str, str], ...]  # (argument, resource, level)
    queries: tuple[ModelField, ...]
    calls: tuple[tuple[str, Callable[..., Any], tuple[ModelField, ...]], ...]
    body: ModelField | None


def install(app: FastAPI) -> None:
    for route in app.routes:
        if isinstance(route, APIRoute) and getattr(route.endpoint, _MARK, False):
            route.app = _handler(_plan(route))


def _plan(route: APIRoute) -> _Plan:
    dependant = route.dependant
    where = f"{sorted(route.methods)} {route.path}"
    _refuse_unsupported(dependant, where)
    scopes, calls = [], []
    for sub in dependant.dependencies:
        scope = getattr(sub.call, "__scope__", None)
        if scope is not None:
            scopes.append((str(sub.name), *scope))
            continue
        _refuse_unsupported(sub, where)
        if sub.dependencies or sub.body_params or sub.request_param_name or sub.path_params:
            raise TypeError(f"{where}: the fast path calls only query-parameter dependencies")
        if sub.call is None or sub.name is None:
            raise TypeError(f"{where}: unnamed dependency")
        calls.append((sub.name, sub.call, tuple(sub.query_params)))
    body = dependant.body_params
    if len(body) > 1 or (
        body and (getattr(body[0].field_info, "embed", False) or not body[0].required)
    ):
        raise TypeError(f"{where}: the fast path takes one required, unembedded body model")
    if any(field.field_info.annotation is not str for field in dependant.path_params):
        raise TypeError(f"{where}: the fast path passes path parameters on as plain strings")
    return _Plan(
        endpoint=route.endpoint,
        request_name=dependant.request_param_name,
        scopes=tuple(scopes),
        queries=tuple(dependant.query_params),
        calls=tuple(calls),
        body=route.body_field,
    )


def _refuse_unsupported(dependant: Dependant, where: str) -> None:
    if (
        dependant.header_params
        or dependant.cookie_params
        or dependant.background_tasks_param_name
        or dependant.response_param_name
        or dependant.security_requirements
        or dependant.websocket_param_name
        or dependant.http_connection_param_name
    ):
        raise TypeError(f"{where}: a parameter kind the fast path does not resolve")


def _handler(plan: _Plan) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        # FastAPI's order: the body is decoded first (malformed JSON is a 400 whoever sends it),
        # then the scope is checked, then parameters and body are validated together.
        decoded = _MISSING
        if plan.body is not None:
            raw = await request.body()
            if raw:
                decoded = _decode(raw)
                setattr(request.state, PARSED_BODY, decoded)
        arguments: dict[str, Any] = dict(scope["path_params"])
        if plan.request_name:
            arguments[plan.request_name] = request
        for name, resource, level in plan.scopes:
            arguments[name] = authorize(request, resource, level)
        errors: list[Any] = []
        if plan.queries or plan.calls:
            errors.extend(_queries(plan, request, arguments))
        if plan.body is not None:
            body, failed = _validated_body(decoded, plan.body)
            arguments[plan.body.name] = body
            errors.extend(failed)
        if errors:
            raise RequestValidationError(errors)
        response = await plan.endpoint(**arguments)
        await response(scope, receive, send)

    return app


_MISSING: Any = object()


def _queries(plan: _Plan, request: Request, arguments: dict[str, Any]) -> list[Any]:
    """Adds the query arguments; returns the validation errors, the dependencies' first (the
    order FastAPI reports them in)."""
    received = request.query_params
    errors: list[Any] = []
    for name, call, fields in plan.calls:
        given, failed = _validated(fields, received)
        errors.extend(failed)
        if not failed:
            arguments[name] = call(**given)
    values, failed = _validated(plan.queries, received)
    arguments.update(values)
    errors.extend(failed)
    return errors


def _validated(fields: Sequence[ModelField], received: Any) -> tuple[dict[str, Any], list[Any]]:
    if not fields:
        return {}, []
    values, errors = request_params_to_args(fields, received)
    return values, list(errors)


def _validated_body(decoded: Any, field: ModelField) -> tuple[Any, list[Any]]:
    """The body as FastAPI validates it: an empty body is a missing one; locations start with
    ``body``; a non-object is ``model_attributes_type``."""
    if decoded is _MISSING:
        return None, [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
    validated, errors = field.validate(decoded, {}, loc=("body",))
    if not errors:
        return validated, []
    return None, errors if isinstance(errors, list) else [errors]


def _decode(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    # orjson refuses some JSON that the stdlib (FastAPI's decoder) reads: integers beyond 64
    # bits, nesting past 1,024 levels. Those reach validation as before, which names the field.
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise RequestValidationError(
            [
                {
                    "type": "json_invalid",
                    "loc": ("body", 0),
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": str(exc)},
                }
            ]
        ) from None
