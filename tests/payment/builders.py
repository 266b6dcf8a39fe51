"""Payments and tickets written straight into the database, for states the API cannot produce
on demand (pending, failed, refunded payments; chosen creation times)."""

from __future__ import annotations

from typing import Any

from tessera.db import Connection
from tessera.kit import clock, ids
from tessera.payment import repository as payments
from tests.support import Tenant


def make_contact(tenant: Tenant, email: str = "jane@example.com", **fields: Any) -> dict[str, Any]:
    response = tenant.post("/api/v1/contacts", {"email": email, **fields})
    assert response.status_code in (200, 201), response.text
    contact: dict[str, Any] = response.json()["data"]
    return contact


def insert_payment(
    tenant: Tenant,
    *,
    event_id: str,
    ticket_class_id: str,
    contact_id: str,
    tickets: int = 1,
    status: str = "succeeded",
    method: str = "cash",
    amount: str = "25.00",
    currency: str = "usd",
    created_at: str | None = None,
) -> dict[str, Any]:
    """A payment with ``tickets`` valid tickets, one microsecond apart in creation time.

    Returns ``{"id", "ticket_ids", "created_at"}``; ``created_at`` is an ISO instant (default now).
    """
    at = clock.parse_instant(created_at) if created_at else tenant.api.now()
    payment_id = ids.payment_id()
    ticket_ids = [ids.ticket_id() for _ in range(tickets)]

    async def work(conn: Connection) -> None:
        await payments.insert(
            conn,
            tenant.organization_id,
            {
                "id": payment_id,
                "event_id": event_id,
                "ticket_class_id": ticket_class_id,
                "contact_id": contact_id,
                "status": status,
                "method": method,
                "provider": "manual",
                "currency": currency,
                "amount": amount,
                "quantity": tickets,
                "created_at": at,
            },
        )
        await conn.executemany(
            "INSERT INTO tickets (id, organization_id, event_id, ticket_class_id, contact_id,"
            " payment_id, status, barcode, payment_method, checked_in_at, created_at, updated_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, 'valid', $7, $8, NULL, $9, $9)",
            [
                (
                    ticket_id,
                    tenant.organization_id,
                    event_id,
                    ticket_class_id,
                    contact_id,
                    payment_id,
                    ids.barcode(),
                    method,
                    at + offset,
                )
                for offset, ticket_id in enumerate(ticket_ids)
            ],
        )

    tenant.api.run(work)
    return {"id": payment_id, "ticket_ids": ticket_ids, "created_at": clock.iso(at)}


def ticket_rows(tenant: Tenant, contact_id: str) -> list[dict[str, Any]]:
    async def work(conn: Connection) -> list[dict[str, Any]]:
        rows = await conn.fetch(
            "SELECT * FROM tickets WHERE organization_id = $1 AND contact_id = $2 ORDER BY id",
            tenant.organization_id,
            contact_id,
        )
        return [dict(row) for row in rows]

    result: list[dict[str, Any]] = tenant.api.run(work)
    return result


def contact_row(tenant: Tenant, contact_id: str) -> dict[str, Any] | None:
    async def work(conn: Connection) -> dict[str, Any] | None:
        row = await conn.fetchrow("SELECT * FROM contacts WHERE id = $1", contact_id)
        return None if row is None else dict(row)

    result: dict[str, Any] | None = tenant.api.run(work)
    return result
