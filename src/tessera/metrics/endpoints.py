"""``GET /metrics``: 404 unless ``TESSERA_METRICS=true``."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from tessera.errors import NotFound
from tessera.metrics import exposition

router = APIRouter(tags=["operations"])

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    settings = request.app.state.settings
    if not settings.metrics:
        raise NotFound()
    db = request.app.state.db
    exposition.sample_pool(db)
    now = request.app.state.clock()
    async with db.reader() as conn:
        outbox = await conn.fetch(exposition.OUTBOX_SQL, now)
    body = exposition.render(settings, outbox, now)
    return Response(body, media_type=CONTENT_TYPE)
