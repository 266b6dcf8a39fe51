"""Builders and a thin HTTP helper for tests: plain functions, no mocks."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
from fastapi.testclient import TestClient

from tessera.auth import scopes as scope_rules
from tessera.auth import service as auth
from tessera.models import metadata


class FakeClock:
    """Wall time plus an offset that tests can move forward."""

    def __init__(self) -> None:
        self.offset = 0

    def __call__(self) -> int:
        return time.time_ns() // 1000 + self.offset

    def advance(self, *, hours: float = 0, seconds: float = 0) -> None:
        self.offset += int((hours * 3600 + seconds) * 1_000_000)


@dataclass
class Tenant:
    api: ApiClient
    organization_id: str
    key: str
    key_id: str
    headers: dict[str, str] = field(default_factory=dict)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.api.client.get(path, headers=self._headers(kwargs), **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return self.api.client.post(path, json=json, headers=self._headers(kwargs), **kwargs)

    def patch(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return self.api.client.patch(path, json=json, headers=self._headers(kwargs), **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.api.client.delete(path, headers=self._headers(kwargs), **kwargs)

    def _headers(self, kwargs: dict[str, Any]) -> dict[str, str]:
        return {"X-API-KEY": self.key, **self.headers, **kwargs.pop("headers", {})}

    def new_key(self, scope_list: str | None = None) -> Tenant:
        """Another key of this organization (``scope_list`` like ``attendees:write``)."""
        granted = (
            scope_rules.all_write()
            if scope_list is None
            else scope_rules.parse_scope_list(scope_list)
        )
        created = self.api.run(
            lambda conn: auth.create_api_key(
                conn, self.organization_id, "test", granted, self.api.now()
            )
        )
        return Tenant(self.api, self.organization_id, created["key"], created["id"])

    # Builders over the real API --------------------------------------------------------------
    def make_event(self, **fields: Any) -> dict[str, Any]:
        body = {
            "name": "Summer Conference",
            "start": {"utc": "2027-07-15T18:00", "timezone": "America/New_York"},
            "end": {"utc": "2027-07-15T23:00", "timezone": "America/New_York"},
            "location": "Main Hall",
            **fields,
        }
        response = self.post("/api/v1/events", body)
        assert response.status_code == 201, response.text
        event: dict[str, Any] = response.json()["data"]
        return event

    def general_admission(self, event_id: str) -> dict[str, Any]:
        response = self.get(f"/api/v1/events/{event_id}/ticket-classes")
        assert response.status_code == 200, response.text
        classes: list[dict[str, Any]] = response.json()["data"]
        return next(c for c in classes if c["name"] == "General Admission")

    def make_ticket_class(self, event_id: str, **fields: Any) -> dict[str, Any]:
        body = {"name": f"Class {time.perf_counter_ns()}", **fields}
        response = self.post(f"/api/v1/events/{event_id}/ticket-classes", body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()["data"]
        return created

    def make_attendees(
        self, event_id: str, ticket_class_id: str, email: str = "jane@example.com", **fields: Any
    ) -> httpx.Response:
        body = {
            "ticket_class_id": ticket_class_id,
            "contact": {"email": email, "first_name": "Jane", "last_name": "Doe"},
            **fields,
        }
        return self.post(f"/api/v1/events/{event_id}/attendees", body)


class ApiClient:
    """The real app behind Starlette's TestClient, plus a way to run a unit of work in it."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.app = client.app

    def now(self) -> int:
        value: int = self.app.state.clock()  # type: ignore[attr-defined]
        return value

    def run(self, work: Any) -> Any:
        db = self.app.state.db  # type: ignore[attr-defined]
        return self.client.portal.call(db.run, work)  # type: ignore[union-attr]

    def tenant(self, name: str = "Acme", scope_list: str | None = None) -> Tenant:
        org = self.run(lambda conn: auth.create_organization(conn, name, self.now()))
        granted = (
            scope_rules.all_write()
            if scope_list is None
            else scope_rules.parse_scope_list(scope_list)
        )
        created = self.run(
            lambda conn: auth.create_api_key(conn, org["id"], "test", granted, self.now())
        )
        return Tenant(self, org["id"], created["key"], created["id"])

    def deliver_outbox(self) -> int:
        """Run the app's outbox worker until nothing is due; returns attempts made."""
        worker = self.app.state.worker  # type: ignore[attr-defined]
        delivered: int = self.client.portal.call(worker.drain)  # type: ignore[union-attr]
        return delivered

    def count(self, table: str, where: str = "1 = 1", *args: Any) -> int:
        async def query(conn: Any) -> int:
            return int(await conn.fetchval(f"SELECT count(*) FROM {table} WHERE {where}", *args))

        result: int = self.run(query)
        return result


# Every table a request could write to, from the models so a new table is never forgotten;
# `row_counts` snapshots them to prove "nothing written".
DATA_TABLES = tuple(sorted(metadata.tables))


def row_counts(api: ApiClient) -> dict[str, int]:
    """Rows per table, to compare before and after requests that must write nothing."""
    return {table: api.count(table) for table in DATA_TABLES}


def event_body(**fields: Any) -> dict[str, Any]:
    """A valid Create Event body (the one ``Tenant.make_event`` sends), with ``fields`` merged."""
    return {
        "name": "Summer Conference",
        "start": {"utc": "2027-07-15T18:00", "timezone": "America/New_York"},
        "end": {"utc": "2027-07-15T23:00", "timezone": "America/New_York"},
        "location": "Main Hall",
        **fields,
    }


def truncate_postgres(url: str) -> None:
    """Empty every application table (whatever the migrations made), keeping alembic_version."""

    async def run() -> None:
        conn = await asyncpg.connect(url)
        try:
            tables = [
                row["tablename"]
                for row in await conn.fetch(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                    " AND tablename <> 'alembic_version'"
                )
            ]
            if tables:
                names = ", ".join(f'"{t}"' for t in tables)
                await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        finally:
            await conn.close()

    asyncio.run(run())
