"""Direct database access for the reliability tests: emptying, and checking the books.

The checks read the database with plain sqlite3 / asyncpg (through the concurrency harness's
Inspector), never through the app: after a fault, the app's own view is what is under test.
"""

from __future__ import annotations

from typing import Any

from tests.concurrency.harness import Cluster, book_problems


async def ledger_problems(cluster: Cluster) -> list[str]:
    """Everything wrong with the whole database's books (empty: all is well).

    - every event's and class's counters equal its seat-holding ticket rows, within capacity;
    - every payment holds exactly the tickets it was written with (``quantity``): no order is
      half-written (true while no invited ticket was upgraded, which moves it to a new payment;
      the fault tests issue none);
    - every ticket belongs to a payment of the same event.
    """
    problems: list[str] = []
    async with cluster.inspect() as db:
        for row in await db.fetch("SELECT id FROM events"):
            problems += [
                f"event {row['id']}: {p}" for p in book_problems(await db.event_books(row["id"]))
            ]
        for row in await db.fetch(
            "SELECT p.id, p.quantity, (SELECT count(*) FROM tickets t WHERE t.payment_id = p.id)"
            " AS tickets FROM payments p"
        ):
            if row["tickets"] != row["quantity"]:
                problems.append(
                    f"payment {row['id']} has {row['tickets']} tickets, written with"
                    f" {row['quantity']} (half-written order)"
                )
        orphans = await db.fetchval(
            "SELECT count(*) FROM tickets t WHERE NOT EXISTS"
            " (SELECT 1 FROM payments p WHERE p.id = t.payment_id AND p.event_id = t.event_id)"
        )
        if orphans:
            problems.append(f"{orphans} tickets without a payment of their event")
    return problems


async def count(cluster: Cluster, table: str) -> int:
    async with cluster.inspect() as db:
        value: Any = await db.fetchval(f"SELECT count(*) FROM {table}")
        return int(value)
