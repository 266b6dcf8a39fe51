"""``/healthz`` says the process is up; ``/readyz`` that the database answers and is migrated."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from tessera.errors import AppError
from tessera.kit.http import json_response

router = APIRouter(tags=["operations"])


@router.get("/healthz", include_in_schema=True)
async def healthz() -> Response:
    return json_response({"status": "ok"})


@router.get("/readyz")
async def readyz(request: Request) -> Response:
    expected = request.app.state.migration_head
    try:
        async with request.app.state.db.reader() as conn:
            current = await conn.fetchval("SELECT version_num FROM alembic_version")
    except AppError:
        return json_response(
            {
                "status": "unavailable",
                "database": "unreachable",
                "error": "Database unreachable",
                "code": "database_unreachable",
            },
            503,
        )
    except Exception:  # a table missing entirely: never migrated
        current = None
    if current != expected:
        return json_response(
            {
                "status": "unavailable",
                "database": "ok",
                "migration": current,
                "expected_migration": expected,
                "error": "Migrations are not current; run `tessera db upgrade`",
                "code": "migrations_pending",
            },
            503,
        )
    return json_response({"status": "ok", "database": "ok", "migration": current})
