"""SQL statements per request, counted in-process by the data layer over real requests
(``tessera.db.STATEMENTS``); and two real creates' statements, recorded for the floors and the
ceiling (bench/floor.py, bench/ceiling.py) to replay."""

from __future__ import annotations

import uuid
from typing import Any

from bench.floor import Recorded
from bench.populate import Population
from tessera import db as tessera_db


def statements_per_request(
    url: str, key: str, pop: Population, samples: int = 50
) -> tuple[dict[str, float], list[Recorded], bytes]:
    """Statements each kind of request sends (create, replay, list, get), counted in-process
    over ``samples`` real requests each; and the statements of two more creates, recorded for
    the floors (and on SQLite the ceiling), with the last one's response body."""
    from fastapi.testclient import TestClient

    from tessera.app import create_app
    from tessera.config import Settings

    settings = Settings(
        database_url=url,
        rate_limit_per_minute=0,
        access_log=False,
        worker_in_process=False,
        _env_file=None,
    )  # type: ignore[call-arg]
    counts: dict[str, float] = {}
    headers = {"X-API-KEY": key}
    with TestClient(create_app(settings)) as client:

        def measure(name: str, call: Any) -> None:
            call(0)  # warm caches outside the count
            before = tessera_db.STATEMENTS.count
            for i in range(1, samples + 1):
                response = call(i)
                assert response.status_code < 300, response.text
            counts[name] = (tessera_db.STATEMENTS.count - before) / samples

        nonce = uuid.uuid4().hex[:8]
        create_path = f"/api/v1/events/{pop.hot_event_id}/attendees"

        def body(i: int) -> dict[str, Any]:
            return {
                "ticket_class_id": pop.hot_class_id,
                "contact": {"email": f"s{nonce}{i}@example.com", "first_name": "S"},
            }

        measure(
            "create",
            lambda i: client.post(
                create_path, json=body(i), headers={**headers, "Idempotency-Key": f"{nonce}-{i}"}
            ),
        )
        recorded: list[Recorded] = []
        created = b""
        for i in (samples + 1, samples + 2):  # both databases: the floors replay these
            tessera_db.STATEMENTS.recording = []
            try:
                response = client.post(
                    create_path,
                    json=body(i),
                    headers={**headers, "Idempotency-Key": f"{nonce}-{i}"},
                )
                assert response.status_code == 201, response.text
                recorded.append(tessera_db.STATEMENTS.recording)
                created = response.content
            finally:
                tessera_db.STATEMENTS.recording = None
        measure(
            "replay",
            lambda i: client.post(
                create_path, json=body(i), headers={**headers, "Idempotency-Key": f"{nonce}-{i}"}
            ),
        )
        measure(
            "list",
            lambda i: client.get(
                f"/api/v1/events/{pop.big_event_id}/attendees?page={i}&page_size=50",
                headers=headers,
            ),
        )
        measure(
            "get",
            lambda i: client.get(
                f"/api/v1/events/{pop.big_event_id}/attendees/{pop.sample_ticket_id}",
                headers=headers,
            ),
        )
    return counts, recorded, created
