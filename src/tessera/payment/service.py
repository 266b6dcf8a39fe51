"""Payments: reading them, each with its tickets and its customer's current email."""

from __future__ import annotations

from typing import Any

from tessera import errors
from tessera.db import Connection, Row
from tessera.kit import clock
from tessera.kit.pagination import Page, envelope
from tessera.payment import repository
from tessera.payment.schemas import PaymentFilters


def present(row: Row, ticket_ids: list[str]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "status": row["status"],
        "method": row["method"],
        "currency": row["currency"],
        "amount": row["amount"],
        "quantity": row["quantity"],
        "event_id": row["event_id"],
        "ticket_class_id": row["ticket_class_id"],
        "contact_id": row["contact_id"],
        "customer_email": row["customer_email"],
        "ticket_ids": ticket_ids,
        "created_at": clock.iso(row["created_at"]),
        "updated_at": clock.iso(row["updated_at"]),
    }


async def get_payment(conn: Connection, organization_id: str, payment_id: str) -> dict[str, Any]:
    row = await repository.get(conn, organization_id, payment_id)
    if row is None:
        raise errors.payment_not_found()
    tickets = await repository.ticket_ids(conn, organization_id, [payment_id])
    return present(row, tickets[payment_id])


async def list_payments(
    conn: Connection, organization_id: str, filters: PaymentFilters, page: Page
) -> dict[str, Any]:
    """Payments newest first. ``ticket_ids`` of the whole page come from one query.

    An ``event_id`` or ``ticket_class_id`` that matches nothing (or belongs to another
    organization) filters to an empty page, as a filter does, rather than a 404.
    """
    rows, total = await repository.list_page(
        conn,
        organization_id,
        statuses=filters.statuses,
        event_id=filters.event_id,
        ticket_class_id=filters.ticket_class_id,
        created_from=filters.created_from,
        created_to=filters.created_to,
        limit=page.page_size,
        offset=page.offset,
    )
    tickets = await repository.ticket_ids(conn, organization_id, [row["id"] for row in rows])
    return envelope([present(row, tickets[row["id"]]) for row in rows], total, page)
