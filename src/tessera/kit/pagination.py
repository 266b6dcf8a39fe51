"""Page-number pagination: ``page`` ≥ 1, ``page_size`` 1..200, and the response envelope."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query
from pydantic import BaseModel, Field

MAX_PAGE_SIZE = 200


@dataclass(frozen=True, slots=True)
class Page:
    page: int
    page_size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


def _page(
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
) -> Page:
    # Out-of-range values fail FastAPI's validation; the error handler reports those two fields
    # as "Invalid pagination parameters" (SPEC §1).
    return Page(page, page_size)


PageParams = Annotated[Page, Depends(_page)]


# page and page_size as fields of an endpoint's query model, with PageParams's bounds.
PageNumber = Annotated[int, Field(ge=1, le=1_000_000)]
PageSize = Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)]


class Pagination(BaseModel):
    """The ``pagination`` member of every list envelope (documentation of its shape)."""

    total: int
    page: int
    page_size: int
    total_pages: int


PAGINATION_FIELDS = frozenset({"page", "page_size"})


def envelope(items: list[Any], total: int, page: Page) -> dict[str, Any]:
    return {
        "data": items,
        "pagination": {
            "total": total,
            "page": page.page,
            "page_size": page.page_size,
            "total_pages": (total + page.page_size - 1) // page.page_size,
        },
    }


def csv_values(raw: str | None, allowed: frozenset[str], default: tuple[str, ...]) -> list[str]:
    """A comma-separated filter; unknown values are a ValueError naming them."""
    if raw is None or not raw.strip():
        return list(default)
    values = [part.strip() for part in raw.split(",") if part.strip()]
    unknown = [value for value in values if value not in allowed]
    if unknown:
        raise ValueError(
            f"unknown value(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )
    return list(dict.fromkeys(values))
