"""Which code delivers which kind of outbox row."""

from __future__ import annotations

from tessera.config import Settings
from tessera.db import Database
from tessera.outbox.worker import Handler


def build_handlers(settings: Settings, db: Database) -> dict[str, Handler]:
    handlers: dict[str, Handler] = {}
    return handlers
