"""Building blocks for request schemas.

Models are strict: ``"5"`` is not a number and ``1`` is not ``true``. Unknown fields are refused.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _number_not_bool(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError("must be a decimal number, e.g. 25 or \"25.00\"")
    return value


# A decimal amount given as a JSON number or a numeric string; never float inside Tessera.
Amount = Annotated[
    Decimal,
    BeforeValidator(_number_not_bool),
    Field(strict=False, ge=0, le=Decimal("99999999.999"), json_schema_extra={"examples": ["25.00"]}),
]


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)
