"""The attendee list's filters (SPEC §3.3), parsed from query parameters: the list endpoint and
the CSV export (the same filters) read them here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tessera import errors
from tessera.contact.schemas import normalize_email
from tessera.kit import clock
from tessera.kit.pagination import csv_values

ALL_STATUSES = frozenset(
    {"valid", "checked_in", "pending_approval", "invited", "rejected", "deleted"}
)
DEFAULT_STATUSES = ("valid", "checked_in")


@dataclass(frozen=True, slots=True)
class Filters:
    statuses: tuple[str, ...] = DEFAULT_STATUSES
    email: str | None = None
    ticket_class_id: str | None = None
    query: str | None = None
    updated_since: int | None = None

    def where(self, args: list[Any]) -> str:
        """SQL conditions on ``t`` (tickets) and ``c`` (contacts), appending to ``args``; the
        caller puts the organization and event first."""

        def arg(value: Any) -> str:
            args.append(value)
            return f"${len(args)}"

        where = [f"t.status IN ({', '.join(arg(s) for s in self.statuses)})"]
        if self.email is not None:
            where.append(f"c.email = {arg(self.email)}")
        if self.ticket_class_id is not None:
            where.append(f"t.ticket_class_id = {arg(self.ticket_class_id)}")
        if self.query is not None:
            escaped = self.query.lower().replace("\\", "\\\\").replace("%", "\\%")
            pattern = arg("%" + escaped.replace("_", "\\_") + "%")
            where.append(
                f"(lower(c.email) LIKE {pattern} ESCAPE '\\' OR lower(coalesce(c.first_name, ''))"
                f" LIKE {pattern} ESCAPE '\\' OR lower(coalesce(c.last_name, '')) LIKE {pattern}"
                " ESCAPE '\\')"
            )
        if self.updated_since is not None:
            where.append(f"t.updated_at >= {arg(self.updated_since)}")
        return " AND ".join(where)


def parse(
    status: str | None,
    email: str | None,
    ticket_class_id: str | None,
    q: str | None,
    updated_since: str | None,
) -> Filters:
    """The list's filters, with its validation messages (400 ``validation_failed``)."""
    field_errors: dict[str, list[str]] = {}
    statuses: list[str] = []
    try:
        statuses = csv_values(status, ALL_STATUSES, DEFAULT_STATUSES)
    except ValueError as exc:
        field_errors["status"] = [str(exc)]
    since = None
    if updated_since is not None:
        try:
            since = clock.parse_instant(updated_since)
        except ValueError as exc:
            field_errors["updated_since"] = [str(exc)]
    if email is not None:
        try:
            email = normalize_email(email)
        except ValueError as exc:
            field_errors["email"] = [str(exc)]
    if field_errors:
        raise errors.ValidationFailed(field_errors)
    return Filters(tuple(statuses), email, ticket_class_id, q or None, since)
