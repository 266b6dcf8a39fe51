"""Response helpers: every JSON body is encoded once, with orjson."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Response

from tessera.kit.jsonutil import dumps

JSON = "application/json"


def json_response(
    payload: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(content=dumps(payload), status_code=status, media_type=JSON, headers=headers)


def data(payload: Any, status: int = 200) -> Response:
    """Single objects are wrapped as ``{"data": {…}}``."""
    return json_response({"data": payload}, status)
