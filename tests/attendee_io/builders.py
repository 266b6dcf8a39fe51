"""Many attendees at once, straight through the data layer (the API would take minutes)."""

from __future__ import annotations

from typing import Any

from bench.data_io import insert_attendees

from tests.support import Tenant


def bulk_attendees(
    tenant: Tenant,
    event_id: str,
    class_id: str,
    count: int,
    answers: dict[str, Any] | None = None,
) -> None:
    """``count`` valid tickets, emails ``guest{n}@example.com`` in creation order."""
    start = tenant.api.now()
    tenant.api.run(
        lambda conn: insert_attendees(
            conn, tenant.organization_id, event_id, class_id, count, start, answers
        )
    )
