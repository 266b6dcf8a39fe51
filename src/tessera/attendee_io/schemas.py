"""Response schemas of the import (the export answers CSV)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel


class RowResult(BaseModel):
    row: int
    status: Literal["created", "failed"]
    payment_id: str | None = None
    error: str | None = None
    code: str | None = None
    details: dict[str, Any] | None = None


class ImportResult(BaseModel):
    rows: int
    created: int
    failed: int
    results: list[RowResult]
    dry_run: bool | None = None
