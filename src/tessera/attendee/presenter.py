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


def present_listed(row: Row) -> dict[str, Any]:
    """:func:`present` of a row of ``repository.LISTED``, read by position: a page of 50 found
    its 700 values by column name in a third of the time it took to present them."""
    iso = clock.iso
    return {
        "id": row[0],
        "status": row[1],
        "ticket_class_id": row[2],
        "ticket_class_name": row[3],
        "barcode": row[4],
        "first_name": row[5],
        "last_name": row[6],
        "email": row[7],
        "payment_id": row[8],
        "payment_method": row[9],
        "checked_in_at": iso(row[10]),
        "created_at": iso(row[11]),
        "updated_at": iso(row[12]),
        "answers": jsonutil.loads(row[13]) if row[13] else {},
    }
