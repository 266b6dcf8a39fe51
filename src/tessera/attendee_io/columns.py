"""The columns of the attendee CSV, shared by export and import, and how headers are matched."""

from __future__ import annotations

import re

# SPEC §10, in this order; then one column per question, headed by its label.
EXPORT_COLUMNS = (
    "id",
    "status",
    "ticket_class_id",
    "ticket_class_name",
    "first_name",
    "last_name",
    "email",
    "phone",
    "payment_id",
    "payment_method",
    "checked_in_at",
    "created_at",
    "updated_at",
)
# What an import reads from a row.
IMPORT_COLUMNS = (
    "email",
    "first_name",
    "last_name",
    "phone",
    "ticket_class_id",
    "ticket_class_name",
    "quantity",
    "status",
    "payment_method",
    "send_email",
)
# Columns an import accepts and ignores: the export's read-only ones (so an export can be
# imported as it is) and the error column of the failed-rows file the CLI writes.
IGNORED_COLUMNS = frozenset(
    {"id", "payment_id", "checked_in_at", "created_at", "updated_at", "import_error"}
)
RESERVED = frozenset(EXPORT_COLUMNS) | frozenset(IMPORT_COLUMNS) | IGNORED_COLUMNS

_SEPARATORS = re.compile(r"[\s_\-]+")


def fold(header: str) -> str:
    """A header as it is matched: case-insensitive, and runs of spaces, ``_`` and ``-`` are one
    ``_`` ("First Name", "first_name" and " FIRST-NAME " are the same column)."""
    return _SEPARATORS.sub("_", header.strip().casefold()).strip("_")
