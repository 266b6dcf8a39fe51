"""Fill a Tessera database with realistic volume before a benchmark.

Rows are written straight through the data layer in large batches (not through the API): the
point is to benchmark against populated tables and indexes (PERFORMANCE.md: an empty, freshly
analyzed schema makes PostgreSQL plan sequential scans and the numbers turn to nonsense).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from tessera.db import Connection, Database
from tessera.kit import ids


@dataclass
class Population:
    organization_id: str
    api_key_id: str
    hot_event_id: str = ""
    hot_class_id: str = ""
    big_event_id: str = ""  # holds `attendees` tickets: the list scenario reads it
    spread: list[tuple[str, str]] = field(default_factory=list)  # (event_id, class_id)
    sample_ticket_id: str = ""
    replay_keys: list[str] = field(default_factory=list)


def _event(org: str, name: str, now: int) -> dict[str, Any]:
    return {
        "id": ids.event_id(),
        "organization_id": org,
        "name": name,
        "description": None,
        "status": "active",
        "registration_status": "open",
        "currency": "usd",
        "capacity": 0,
        "tickets_sold": 0,
        "start_at": now + 86_400_000_000,
        "start_timezone": "UTC",
        "end_at": None,
        "end_timezone": None,
        "venue_name": "Hall",
        "venue_address": None,
        "venue_city": None,
        "venue_state": None,
        "venue_country": None,
        "virtual_url": None,
        "hidden": False,
        "require_approval": False,
        "created_at": now,
        "updated_at": now,
    }


def _class(org: str, event_id: str, name: str, now: int) -> dict[str, Any]:
    return {
        "id": ids.ticket_class_id(),
        "organization_id": org,
        "event_id": event_id,
        "name": name,
        "description": None,
        "status": "active",
        "currency": "usd",
        "cost": "10.00",
        "quantity_total": 0,
        "quantity_sold": 0,
        "sales_start": None,
        "sales_end": None,
        "minimum_per_order": 1,
        "maximum_per_order": 10,
        "require_approval": False,
        "hide_on_event_page": False,
        "created_at": now,
        "updated_at": now,
    }


async def _insert(conn: Connection, table: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    columns = list(rows[0])
    marks = ", ".join(f"${i + 1}" for i in range(len(columns)))
    await conn.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
        [tuple(row[c] for c in columns) for row in rows],
    )


async def populate(
    db: Database,
    organization_id: str,
    api_key_id: str,
    *,
    attendees: int,
    spread: int,
    stored_keys: int,
    progress: Any = print,
) -> Population:
    started = time.perf_counter()
    now = time.time_ns() // 1000
    org = organization_id
    result = Population(org, api_key_id)
    events = [_event(org, "Hot event", now), _event(org, "Big event", now)]
    classes = [
        _class(org, events[0]["id"], "General Admission", now),
        _class(org, events[1]["id"], "General Admission", now),
    ]
    for n in range(spread):
        event = _event(org, f"Spread event {n}", now)
        events.append(event)
        classes.append(_class(org, event["id"], "General Admission", now))
        result.spread.append((event["id"], classes[-1]["id"]))
    result.hot_event_id, result.hot_class_id = events[0]["id"], classes[0]["id"]
    result.big_event_id = events[1]["id"]
    big_class = classes[1]
    big_class["quantity_sold"] = attendees
    events[1]["tickets_sold"] = attendees

    async def base(conn: Connection) -> None:
        await _insert(conn, "events", events)
        await _insert(conn, "ticket_classes", classes)

    await db.run(base)
    batch = 5_000
    for offset in range(0, attendees, batch):
        count = min(batch, attendees - offset)
        contacts, payments, tickets = [], [], []
        for i in range(offset, offset + count):
            at = now - (attendees - i) * 1000
            contact_id, payment_id = ids.contact_id(), ids.payment_id()
            contacts.append(
                {
                    "id": contact_id,
                    "organization_id": org,
                    "email": f"guest{i}@example.com",
                    "first_name": f"Guest{i}",
                    "last_name": "Population",
                    "phone": None,
                    "erased_at": None,
                    "created_at": at,
                    "updated_at": at,
                }
            )
            payments.append(
                {
                    "id": payment_id,
                    "organization_id": org,
                    "event_id": big_class["event_id"],
                    "ticket_class_id": big_class["id"],
                    "contact_id": contact_id,
                    "status": "succeeded",
                    "method": "cash",
                    "provider": "manual",
                    "currency": "usd",
                    "amount": "10.00",
                    "quantity": 1,
                    "created_at": at,
                    "updated_at": at,
                }
            )
            tickets.append(
                {
                    "id": ids.ticket_id(),
                    "organization_id": org,
                    "event_id": big_class["event_id"],
                    "ticket_class_id": big_class["id"],
                    "contact_id": contact_id,
                    "payment_id": payment_id,
                    "status": "valid",
                    "barcode": ids.barcode(),
                    "payment_method": "cash",
                    "checked_in_at": None,
                    "created_at": at,
                    "updated_at": at,
                }
            )
        if not result.sample_ticket_id:
            result.sample_ticket_id = tickets[len(tickets) // 2]["id"]

        async def write(
            conn: Connection,
            contacts: list[dict[str, Any]] = contacts,
            payments: list[dict[str, Any]] = payments,
            tickets: list[dict[str, Any]] = tickets,
        ) -> None:
            await _insert(conn, "contacts", contacts)
            await _insert(conn, "payments", payments)
            await _insert(conn, "tickets", tickets)

        await db.run(write)
        progress(f"  populated {offset + count:,}/{attendees:,} attendees")

    body = b'{"data":[],"payment_id":"pay_x","quantity":0}'
    headers = '{"content-type":"application/json"}'
    for offset in range(0, stored_keys, batch):
        rows = [
            {
                "api_key_id": api_key_id,
                "key": f"stored-{i}",
                "fingerprint": "0" * 64,
                "status_code": 201,
                "headers": headers,
                "body": body,
                "created_at": now,
            }
            for i in range(offset, min(offset + batch, stored_keys))
        ]
        await db.run(lambda conn, rows=rows: _insert(conn, "idempotency_keys", rows))
    progress(f"  stored {stored_keys:,} idempotency keys")

    if db.dialect == "postgresql":
        async with db.reader() as conn:
            await conn.execute("ANALYZE")
    progress(f"  population done in {time.perf_counter() - started:.1f}s")
    return result
