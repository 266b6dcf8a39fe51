"""``create_app(settings)``: routers, the edge in front of them, and the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from tessera import migrate, openapi
from tessera.attendee.endpoints import router as attendees_router
from tessera.attendee_io.endpoints import router as attendee_io_router
from tessera.config import Settings, get_settings
from tessera.contact.endpoints import router as contacts_router
from tessera.dashboard import install as install_dashboard
from tessera.db import create_database
from tessera.edge import IN_FLIGHT, Edge, EdgeApp
from tessera.event.endpoints import router as events_router
from tessera.kit.clock import Clock, system_clock
from tessera.metrics import exposition as metrics
from tessera.metrics import record
from tessera.metrics.endpoints import router as metrics_router
from tessera.ops.endpoints import router as ops_router
from tessera.outbox.handlers import build_handlers
from tessera.outbox.in_process import delivering
from tessera.outbox.worker import OutboxWorker
from tessera.payment.endpoints import router as payments_router
from tessera.public.routes import router as public_router
from tessera.question.endpoints import router as questions_router
from tessera.ratelimit.limiter import LocalStore, RedisStore, Store
from tessera.ratelimit.policy import RateLimiter
from tessera.ticket_class.endpoints import router as ticket_classes_router
from tessera.ticket_page.endpoints import router as ticket_page_router
from tessera.waitlist.endpoints import router as waitlist_router
from tessera.webhook.endpoints import router as webhooks_router

DESCRIPTION = """Tessera's ticketing API, compatible with the Gomry v1 API.

Authenticate every `/api/v1` request with the `X-API-KEY` header. Creating `POST` endpoints
accept an `Idempotency-Key` header. Every error has the shape `{"error", "code", "details"?}`.
"""


def create_app(settings: Settings | None = None, *, clock: Clock = system_clock) -> FastAPI:
    settings = settings or get_settings()
    db = create_database(settings.database_url, settings.db_pool_size)
    worker = OutboxWorker(
        db,
        build_handlers(settings, db, clock=clock),
        clock=clock,
        poll_seconds=settings.outbox_poll_seconds,
        busy=IN_FLIGHT.busy,  # delivery here steps aside while requests are served
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await db.connect()
        try:
            async with (
                delivering(worker, settings.database_url, deliver=settings.worker_in_process),
                metrics.running(settings, db),
            ):
                yield
        finally:
            await db.close()

    app = EdgeApp(
        title="Tessera",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.clock = clock
    app.state.worker = worker
    app.state.migration_head = migrate.head_revision()

    api = APIRouter(prefix="/api/v1")
    api.include_router(events_router)
    api.include_router(ticket_classes_router)
    api.include_router(attendee_io_router)  # SPEC §10; before /attendees/{attendee_id}
    api.include_router(attendees_router)
    api.include_router(contacts_router)
    api.include_router(payments_router)
    api.include_router(webhooks_router)
    api.include_router(waitlist_router)
    api.include_router(questions_router)  # SPEC §10
    app.include_router(api)
    app.include_router(ops_router)
    app.include_router(metrics_router)
    app.include_router(ticket_page_router)
    app.include_router(public_router)  # /e/{eventId}: the public event page (SPEC §9)
    install_dashboard(app)  # /dashboard: the organizer pages (SPEC §8)
    openapi.install(app)
    limiter = None
    if settings.rate_limit_per_minute > 0:
        limiter = RateLimiter(rate_limit_store(settings), settings.rate_limit_per_minute)
    # Rate limit, body guards, API keys, hot routes, errors, request IDs, access log, metrics:
    # one ASGI callable in front of the router (tessera.edge), instead of middlewares.
    app.edge = Edge(
        db=db,
        clock=clock,
        log_requests=settings.access_log,
        limiter=limiter,
        metrics=record.enable() if settings.metrics else None,
    )
    return app


def rate_limit_store(settings: Settings) -> Store:
    local = LocalStore()
    return RedisStore(settings.redis_url, local) if settings.redis_url else local


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` (used by ``tessera serve --workers N``)."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    return create_app()
