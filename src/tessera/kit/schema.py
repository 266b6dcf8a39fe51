"""Building blocks for request schemas.

Models are strict: ``"5"`` is not a number and ``1`` is not ``true``. Unknown fields are refused.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator


def _number_not_bool(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError('must be a decimal number, e.g. 25 or "25.00"')
    return value


# A decimal amount given as a JSON number or a numeric string; never float inside Tessera.
Amount = Annotated[
    Decimal,
    BeforeValidator(_number_not_bool),
    Field(
        strict=False, ge=0, le=Decimal("99999999.999"), json_schema_extra={"examples": ["25.00"]}
    ),
]


def _no_nul(value: Any) -> Any:
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    if isinstance(value, list | tuple):
        for item in value:
            _no_nul(item)
    return value


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)

    # PostgreSQL text cannot hold U+0000 (SQLite stores it and truncates it elsewhere): refused
    # here, for every string field of every request, instead of failing as a 500 at the insert.
    @field_validator("*", mode="after")
    @classmethod
    def _refuse_nul(cls, value: Any) -> Any:
        return _no_nul(value)
