"""The attendee object as the API shows it."""

from __future__ import annotations

from typing import Any

from tessera.db import Row
from tessera.kit import clock, jsonutil


def present(row: Row | dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "status": row["status"],
        "ticket_class_id": row["ticket_class_id"],
        "ticket_class_name": row["ticket_class_name"],
        "barcode": row["barcode"],
        "first_name": row["first_name"],
        "last_name": row["last_name"],
        "email": row["email"],
        "payment_id": row["payment_id"],
        "payment_method": row["payment_method"],
        "checked_in_at": clock.iso(row["checked_in_at"]),
        "created_at": clock.iso(row["created_at"]),
        "updated_at": clock.iso(row["updated_at"]),
        # stored as JSON text, NULL when none (SPEC §10: always an object)
        "answers": jsonutil.loads(row["answers"]) if row["answers"] else {},
    }
