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
from copy import deepcopy
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response
from fastapi._compat import ModelField, is_sequence_field
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import _validate_value_with_model_field
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel
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
class _Query:
    """One query parameter, with what FastAPI would work out about it on every request."""

    field: ModelField
    sequence: bool  # read with getlist
    loc: tuple[str, str]


@dataclass(frozen=True, slots=True)
class _Plan:
    """How to resolve one endpoint's arguments, read off its FastAPI declaration."""

    endpoint: Endpoint
    request_name: str | None
    scopes: tuple[tuple[str, str, str], ...]  # (argument, resource, level)
    queries: tuple[_Query, ...]
    calls: tuple[tuple[str, Callable[..., Any], tuple[_Query, ...]], ...]
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
        calls.append((sub.name, sub.call, _queries_of(sub.query_params, where)))
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
        queries=_queries_of(dependant.query_params, where),
        calls=tuple(calls),
        body=route.body_field,
    )


def _queries_of(fields: Sequence[ModelField], where: str) -> tuple[_Query, ...]:
    """FastAPI asks each request whether a parameter is a list (typing introspection: a tenth
    of a list request's CPU); the answer is fixed, so it is asked once here."""
    for field in fields:
        if isinstance(field.type_, type) and issubclass(field.type_, BaseModel):
            raise TypeError(f"{where}: the fast path does not read query parameter models")
    return tuple(
        _Query(field, is_sequence_field(field), ("query", field.alias)) for field in fields
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


def _validated(queries: Sequence[_Query], received: Any) -> tuple[dict[str, Any], list[Any]]:
    """FastAPI's ``request_params_to_args`` for query parameters: an absent (or empty list)
    parameter is missing if required and its default, validated, otherwise."""
    values: dict[str, Any] = {}
    errors: list[Any] = []
    for query in queries:
        field = query.field
        value = received.getlist(field.alias) if query.sequence else received.get(field.alias)
        if value is None or (query.sequence and not value):
            value = None if field.required else deepcopy(field.default)
        validated, failed = _validate_value_with_model_field(
            field=field, value=value, values=values, loc=query.loc
        )
        if failed:
            errors.extend(failed)
        else:
            values[field.name] = validated
    return values, errors


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
