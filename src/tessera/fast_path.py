"""The hottest endpoints, served by the edge without the router's scan or dependency solving.

Starlette finds a route by trying every route in turn, and FastAPI then resolves the endpoint's
arguments by walking its dependency graph anew on every request: on Create Attendee that generic
work measured about a seventh of the server's CPU. An endpoint marked with :func:`fast_path` is
declared to FastAPI exactly as before (its signature documents it in OpenAPI, and the router
still serves it should the edge hand a request on); :class:`HotRoutes` reads that signature once,
at startup, and the edge (tessera.edge) then finds the route by its method and path alone and
calls the very same endpoint function with arguments resolved here.

The shapes it serves, and refuses at startup otherwise: path parameters (plain strings), query
parameters (of the endpoint or of a plain dependency that takes only query parameters, called
inline: it must be cheap and never block), a scope dependency from
:func:`tessera.auth.dependencies.require`, the ``Request``, and one JSON body model. Validation
is pydantic's, through its public API, and failures raise FastAPI's ``RequestValidationError``
with the locations FastAPI gives them, so every error keeps its documented shape.

A body endpoint marked ``replays=True`` runs through the idempotency runner: a request whose
Idempotency-Key already answered the very same body gets the stored outcome before its body is
validated (tessera.idempotency.runner.stored_replay). Scope checks still come first.
"""

from __future__ import annotations

import inspect
import json
import types
import typing
from collections.abc import Awaitable, Callable, Sequence
from copy import deepcopy
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar, overload

import orjson
from fastapi import Request, Response, params
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Receive, Scope

from tessera.auth.dependencies import authorize
from tessera.idempotency import runner

Endpoint = Callable[..., Awaitable[Response]]
PARSED_BODY = runner.PARSED_BODY
_MARK = "__fast_path__"
_SEQUENCES = (list, tuple, set, frozenset, Sequence)


E = TypeVar("E", bound=Endpoint)


@overload
def fast_path(endpoint: E) -> E: ...
@overload
def fast_path(*, replays: bool = False) -> Callable[[E], E]: ...
def fast_path(endpoint: E | None = None, *, replays: bool = False) -> E | Callable[[E], E]:
    """Mark an endpoint to be served from the edge; ``replays``: it creates through the
    idempotency runner, so a stored outcome for the same body is answered unvalidated."""

    def mark(function: E) -> E:
        setattr(function, _MARK, "replays" if replays else "plain")
        return function

    return mark(endpoint) if endpoint is not None else mark


@dataclass(frozen=True, slots=True)
class _Query:
    """One query parameter, with what FastAPI would work out about it on every request."""

    name: str
    alias: str
    sequence: bool  # read with getlist
    required: bool
    default: Any
    adapter: TypeAdapter[Any]


@dataclass(frozen=True, slots=True)
class _Body:
    name: str
    model: type[BaseModel]


@dataclass(frozen=True, slots=True)
class Plan:
    """How to resolve one endpoint's arguments, read off its signature once."""

    endpoint: Endpoint
    request_name: str | None
    scopes: tuple[tuple[str, str, str], ...]  # (argument, resource, level)
    queries: tuple[_Query, ...]
    calls: tuple[tuple[str, Callable[..., Any], tuple[_Query, ...]], ...]
    body: _Body | None
    replays: bool

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
        if self.replays and decoded is not _MISSING:
            replay = runner.stored_replay(request, decoded)
            if replay is not None:
                return replay
        errors: list[Any] = []
        if self.queries or self.calls:
            errors.extend(self._queries(request, arguments))
        if self.body is not None:
            body, failed = _validated_body(decoded, self.body.model)
            arguments[self.body.name] = body
            errors.extend(failed)
        if errors:
            raise RequestValidationError(errors)
        return await self.endpoint(**arguments)

    def _queries(self, request: Request, arguments: dict[str, Any]) -> list[Any]:
        """Adds the query arguments; returns the validation errors, the dependencies' first
        (the order FastAPI reports them in)."""
        received = request.query_params
        errors: list[Any] = []
        for name, call, fields in self.calls:
            given, failed = _validated(fields, received)
            errors.extend(failed)
            if not failed:
                arguments[name] = call(**given)
        values, failed = _validated(self.queries, received)
        arguments.update(values)
        errors.extend(failed)
        return errors


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
    calls: list[tuple[str, Callable[..., Any], tuple[_Query, ...]]] = []
    queries: list[_Query] = []
    body: _Body | None = None
    for name, hint, default in _parameters(endpoint):
        annotation, extras = _split(hint)
        depends = next((e for e in extras if isinstance(e, params.Depends)), None)
        if depends is not None and depends.dependency is not None:
            scope = getattr(depends.dependency, "__scope__", None)
            if scope is not None:
                scopes.append((name, *scope))
            else:
                calls.append((name, depends.dependency, _queries_of(depends.dependency, where)))
        elif annotation is Request:
            request_name = name
        elif name in path_names:
            if annotation is not str or extras:
                raise TypeError(f"{where}: the fast path passes path parameters as plain strings")
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if body is not None or extras or default is not inspect.Parameter.empty:
                raise TypeError(f"{where}: the fast path takes one required, unembedded body")
            body = _Body(name, annotation)
        else:
            queries.append(_query(name, annotation, extras, default, where))
    return Plan(
        endpoint=endpoint,
        request_name=request_name,
        scopes=tuple(scopes),
        queries=tuple(queries),
        calls=tuple(calls),
        body=body,
        replays=getattr(endpoint, _MARK) == "replays" and body is not None,
    )


def _parameters(function: Callable[..., Any]) -> list[tuple[str, Any, Any]]:
    hints = typing.get_type_hints(function, include_extras=True)
    return [
        (name, hints.get(name, Any), parameter.default)
        for name, parameter in inspect.signature(function).parameters.items()
    ]


def _split(hint: Any) -> tuple[Any, tuple[Any, ...]]:
    if typing.get_origin(hint) is Annotated:
        annotation, *extras = typing.get_args(hint)
        return annotation, tuple(extras)
    return hint, ()


def _queries_of(dependency: Callable[..., Any], where: str) -> tuple[_Query, ...]:
    found = []
    for name, hint, default in _parameters(dependency):
        annotation, extras = _split(hint)
        found.append(_query(name, annotation, extras, default, where))
    return tuple(found)


def _query(name: str, annotation: Any, extras: tuple[Any, ...], default: Any, where: str) -> _Query:
    infos = [e for e in extras if isinstance(e, FieldInfo)]
    if any(not isinstance(e, params.Query) for e in infos) or len(infos) > 1:
        raise TypeError(f"{where}: {name} is a parameter kind the fast path does not resolve")
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        raise TypeError(f"{where}: the fast path does not read query parameter models")
    if annotation is Request or name in ("self", "cls"):
        raise TypeError(f"{where}: a dependency of the fast path takes only query parameters")
    info = infos[0] if infos else None
    if default is inspect.Parameter.empty and info is not None:
        default = info.default
    required = default is inspect.Parameter.empty or default is PydanticUndefined
    # FastAPI validates a parameter against its type annotated with its Query(): so does this.
    validated: Any = Annotated[annotation, info] if info is not None else annotation
    return _Query(
        name=name,
        alias=(info.alias if info is not None and info.alias else name),
        sequence=_is_sequence(annotation),
        required=required,
        default=None if required else default,
        adapter=TypeAdapter(validated),
    )


def _is_sequence(annotation: Any) -> bool:
    """FastAPI asks each request whether a parameter is a list (typing introspection); the
    answer is fixed, so it is asked once here. ``list[str] | None`` is a list too."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_is_sequence(arg) for arg in typing.get_args(annotation) if arg is not None)
    return origin in _SEQUENCES or annotation in _SEQUENCES


_MISSING: Any = object()


def _missing(loc: tuple[Any, ...]) -> dict[str, Any]:
    return {"type": "missing", "loc": loc, "msg": "Field required", "input": None}


def _located(error: ValidationError, prefix: tuple[Any, ...]) -> list[Any]:
    return [{**e, "loc": (*prefix, *e["loc"])} for e in error.errors(include_url=False)]


def _validated(queries: Sequence[_Query], received: Any) -> tuple[dict[str, Any], list[Any]]:
    """FastAPI's reading of query parameters: an absent (or empty list) parameter is missing
    if required; otherwise its default, validated unless it is None."""
    values: dict[str, Any] = {}
    errors: list[Any] = []
    for query in queries:
        loc = ("query", query.alias)
        value = received.getlist(query.alias) if query.sequence else received.get(query.alias)
        if value is None or (query.sequence and not value):
            if query.required:
                errors.append(_missing(loc))
                continue
            value = deepcopy(query.default)
            if value is None:
                values[query.name] = None
                continue
        try:
            values[query.name] = query.adapter.validate_python(value)
        except ValidationError as exc:
            errors.extend(_located(exc, loc))
    return values, errors


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
