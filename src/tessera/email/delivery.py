"""The outbox handler for ``email`` rows: compose from the database, then hand to the transport."""

from __future__ import annotations

from tessera.config import Settings
from tessera.db import Database
from tessera.email import service, transport
from tessera.outbox.worker import EMAIL_POLICY, Handler, Message


def build_handler(settings: Settings, db: Database) -> Handler:
    send = transport.transport_for(settings)

    async def deliver(message: Message) -> None:
        # Read when delivering, not when queuing: a retry a day later shows the current names
        # and ticket page, and an erasure since then stops the email.
        async with db.reader() as conn:
            email = await service.compose_message(conn, settings, message)
        await send(email, message.id)

    return Handler(deliver, EMAIL_POLICY)
