"""Per-resource scopes: each key holds ``none``, ``read`` or ``write`` for every resource."""

from __future__ import annotations

from functools import lru_cache
from types import MappingProxyType
from typing import Literal

from tessera.kit import jsonutil

RESOURCES = ("events", "ticket_classes", "attendees", "contacts", "payments", "webhooks")
LEVELS = ("none", "read", "write")
Level = Literal["none", "read", "write"]
Scopes = MappingProxyType[str, str]

_RANK = {"none": 0, "read": 1, "write": 2}


class ScopeError(ValueError):
    pass


def all_write() -> dict[str, str]:
    return dict.fromkeys(RESOURCES, "write")


def parse_scope_list(text: str) -> dict[str, str]:
    """``attendees:write,events:read`` → a full mapping; unnamed resources get ``none``."""
    scopes = dict.fromkeys(RESOURCES, "none")
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        resource, _, level = item.partition(":")
        if resource not in RESOURCES:
            raise ScopeError(f"unknown resource {resource!r}; use one of {', '.join(RESOURCES)}")
        if level not in LEVELS:
            raise ScopeError(f"unknown level {level!r} for {resource}; use none, read or write")
        scopes[resource] = level
    return scopes


@lru_cache(maxsize=4096)
def decode(stored: str) -> Scopes:
    return MappingProxyType(jsonutil.loads(stored))


def encode(scopes: dict[str, str]) -> str:
    return jsonutil.canonical(scopes).decode()


def allows(scopes: Scopes, resource: str, level: str) -> bool:
    """``write`` implies ``read``."""
    return _RANK[scopes.get(resource, "none")] >= _RANK[level]
