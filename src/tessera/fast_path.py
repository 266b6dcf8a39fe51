"""The hottest endpoints, served by the edge without the router's scan or dependency solving.

Starlette finds a route by trying every route in turn, and FastAPI then resolves the endpoint's
arguments by walking its dependency graph anew on every request: on Create Attendee that generic
work measured about a seventh of the server's CPU. An endpoint marked with :func:`fast_path` is
declared to FastAPI exactly as before (its signature documents it in OpenAPI, and the router
still serves it should the edge hand a request on); :class:`HotRoutes` reads that signature once,
at startup, and the edge (tessera.edge) then finds the route by its method and path alone and
calls the very same endpoint function with arguments resolved here.

The shapes it serves, and refuses at startup otherwise: path parameters (plain strings), the
query as one model (``Annotated[Model, Query()]``, FastAPI's query parameter model, without
repeated parameters), a scope dependency from :func:`tessera.auth.dependencies.require`, the
``Request``, and one JSON body model. Validation
is pydantic's, through its public API, and failures raise FastAPI's ``RequestValidationError``
with the locations FastAPI gives them, so every error keeps its documented shape.

A request to a body endpoint whose Idempotency-Key already answered the very same request (its
fingerprint holds method, path and body) gets the stored outcome before its body is validated
(tessera.idempotency.runner.stored_replay); scope checks still come first.
"""

from __future__ import annotations

import inspect
import json
import types
import typing
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import Request, Response, params
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Receive, Scope

from tessera.auth.dependencies import authorize
from tessera.idempotency import runner

Endpoint = Callable[..., Awaitable[Response]]
E = TypeVar("E", bound=Endpoint)
PARSED_BODY = runner.PARSED_BODY
_MARK = "__fast_path__"
_SEQUENCES = (list, tuple, set, frozenset, Sequence)


def fast_path(endpoint: E) -> E:
    """Mark an endpoint to be served from the edge."""
    setattr(endpoint, _MARK, True)
    return endpoint


@dataclass(frozen=True, slots=True)
class Plan:
    """How to resolve one endpoint's arguments, read off its signature once."""

    endpoint: Endpoint
    request_name: str | None
    scopes: tuple[tuple[str, str, str], ...]  # (argument, resource, level)
    query: tuple[str, type[BaseModel]] | None  # (argument, model)
    body: tuple[str, type[BaseModel]] | None  # (argument, model)

    async def respond(self, scope: Scope, receive: Receive) -> Response:
        request = Request(scope, receive)
        # FastAPI's order: the body is decoded first (malformed JSON is a 400 whoever sends it),
        # then the scope is checked, then parameters and body are validated together.
        decoded = _MISSING
        if self.body is not None:
            raw = await request.body()
            if raw:
                decoded = _decode(raw)
                setattr(request.state, PARSED_BODY, decoded)
        arguments: dict[str, Any] = dict(scope["path_params"])
        if self.request_name:
            arguments[self.request_name] = request
        for name, resource, level in self.scopes:
            arguments[name] = authorize(request, resource, level)
        if decoded is not _MISSING:
            replay = runner.stored_replay(request, decoded)
            if replay is not None:
                return replay
        errors: list[Any] = []
        if self.query is not None:
            # FastAPI's reading of a query model: each parameter's last value, extras ignored.
            name, model = self.query
            try:
                arguments[name] = model.model_validate(dict(request.query_params))
            except ValidationError as exc:
                errors.extend(_located(exc, ("query",)))
        if self.body is not None:
            arguments[self.body[0]], failed = _validated_body(decoded, self.body[1])
            errors.extend(failed)
        if errors:
            raise RequestValidationError(errors)
        return await self.endpoint(**arguments)


class HotRoutes:
    """The marked routes, found by method and path without trying every route in turn.

    A marked route answers only what the router would have given it: a request whose path an
    earlier route also matches (``/attendees/export`` before ``/attendees/{attendee_id}``) is
    handed on to the router, as is everything with a mount prefix (``root_path``)."""

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        self._by_method: dict[str, list[tuple[APIRoute, Plan, list[BaseRoute]]]] = {}
        for index, route in enumerate(routes):
            if isinstance(route, APIRoute) and getattr(route.endpoint, _MARK, None):
                plan = plan_of(route)
                earlier = [r for r in routes[:index] if _may_shadow(r, route)]
                for method in route.methods:
                    self._by_method.setdefault(method, []).append((route, plan, earlier))

    def find(self, scope: Scope) -> Plan | None:
        """The plan serving this request, its path parameters and route put in the scope."""
        candidates = self._by_method.get(scope["method"])
        if not candidates or scope.get("root_path"):
            return None
        path = scope["path"]
        for route, plan, earlier in candidates:
            match = route.path_regex.match(path)
            if match is None:
                continue
            if any(r.matches(scope)[0] is Match.FULL for r in earlier):
                return None
            scope["path_params"] = match.groupdict()
            scope["route"] = route
            scope["endpoint"] = route.endpoint
            return plan
        return None


def _may_shadow(earlier: BaseRoute, route: APIRoute) -> bool:
    """Whether an earlier route could match some path the marked one matches (its literal
    segments agree with the marked template's wherever both are literal)."""
    if not isinstance(earlier, Route):
        return True  # a mount or anything else: ask it on every match
    mine, theirs = route.path.split("/"), earlier.path.split("/")
    if len(mine) != len(theirs):
        return False
    return all(a == b or "{" in a or "{" in b for a, b in zip(mine, theirs, strict=True))


def plan_of(route: APIRoute) -> Plan:
    endpoint = route.endpoint
    where = f"{sorted(route.methods)} {route.path}"
    path_names = set(route.param_convertors)
    request_name = None
    scopes: list[tuple[str, str, str]] = []
    query: tuple[str, type[BaseModel]] | None = None
    body: tuple[str, type[BaseModel]] | None = None
    hints = typing.get_type_hints(endpoint, include_extras=True)
    for name, parameter in inspect.signature(endpoint).parameters.items():
        hint = hints.get(name, Any)
        annotation, *extras = (
            typing.get_args(hint) if typing.get_origin(hint) is Annotated else [hint]
        )
        depends = next((e for e in extras if isinstance(e, params.Depends)), None)
        scope = getattr(depends.dependency, "__scope__", None) if depends else None
        is_model = isinstance(annotation, type) and issubclass(annotation, BaseModel)
        if scope is not None:
            scopes.append((name, *scope))
        elif annotation is Request and not extras:
            request_name = name
        elif name in path_names and annotation is str and not extras:
            pass  # a path parameter: a plain string
        elif is_model and query is None and extras and isinstance(extras[0], params.Query):
            if any(_is_sequence(field.annotation) for field in annotation.model_fields.values()):
                raise TypeError(f"{where}: the fast path reads no repeated query parameter")
            query = (name, annotation)
        elif is_model and body is None and not extras and parameter.default is parameter.empty:
            body = (name, annotation)
        else:
            raise TypeError(
                f"{where}: {name} is not a shape the fast path resolves: path parameters are"
                " plain strings, the query one Annotated[Model, Query()], the body one required"
                " model; dependencies only scopes"
            )
    return Plan(
        endpoint=endpoint,
        request_name=request_name,
        scopes=tuple(scopes),
        query=query,
        body=body,
    )


def _is_sequence(annotation: Any) -> bool:
    """Whether a field is read with getlist: ``list[str] | None`` is a list too."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_is_sequence(arg) for arg in typing.get_args(annotation))
    return origin in _SEQUENCES or annotation in _SEQUENCES


_MISSING: Any = object()


def _missing(loc: tuple[Any, ...]) -> dict[str, Any]:
    return {"type": "missing", "loc": loc, "msg": "Field required", "input": None}


def _located(error: ValidationError, prefix: tuple[Any, ...]) -> list[Any]:
    return [{**e, "loc": (*prefix, *e["loc"])} for e in error.errors(include_url=False)]


def _validated_body(decoded: Any, model: type[BaseModel]) -> tuple[Any, list[Any]]:
    """The body as FastAPI validates it: an empty body is a missing one; locations start with
    ``body``; a non-object is ``model_attributes_type`` (attributes are read, as FastAPI does)."""
    if decoded is _MISSING:
        return None, [_missing(("body",))]
    try:
        return model.model_validate(decoded, from_attributes=True), []
    except ValidationError as exc:
        return None, _located(exc, ("body",))


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
