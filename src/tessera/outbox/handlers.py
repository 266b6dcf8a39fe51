"""Which code delivers which kind of outbox row."""

from __future__ import annotations

from tessera.config import Settings
from tessera.db import Database
from tessera.email import delivery as email
from tessera.kit.clock import Clock, system_clock
from tessera.outbox.worker import Handler
from tessera.webhook import delivery as webhook


def build_handlers(
    settings: Settings, db: Database, *, clock: Clock = system_clock
) -> dict[str, Handler]:
    handlers: dict[str, Handler] = {}
    handlers["email"] = email.build_handler(settings, db)
    handlers["webhook"] = webhook.build_handler(settings, db, clock=clock)
    return handlers
