"""Which code delivers which kind of outbox row."""

from __future__ import annotations

from tessera.config import Settings
from tessera.db import Database
from tessera.email import delivery as email
from tessera.kit.clock import Clock, system_clock
from tessera.outbox.worker import Handler
from tessera.waitlist import handler as waitlist
from tessera.webhook import delivery as webhook


def build_handlers(
    settings: Settings, db: Database, *, clock: Clock = system_clock
) -> dict[str, Handler]:
    handlers: dict[str, Handler] = {}
    handlers["email"] = email.build_handler(settings, db)
    handlers["webhook"] = webhook.build_handler(settings, db, clock=clock)
    # The waitlist (SPEC §9): offers of freed seats and their expiry, and its emails.
    handlers["waitlist"] = waitlist.build_handler(db, clock=clock)
    handlers["waitlist_email"] = waitlist.build_email_handler(settings, db)
    return handlers
