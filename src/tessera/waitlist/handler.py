"""The outbox handlers of the waitlist.

- ``waitlist`` rows: ``waitlist.check`` (a seat may have freed: offer what is free) and
  ``waitlist.expiry`` (due when an offer ends: end it and pass the seat on). Each runs in one
  transaction; a crash before it commits leaves the row to be delivered again, and delivering
  it again decides the same offers (see ``tessera.waitlist.offers``).
- ``waitlist_email`` rows: the waitlist's emails, through the configured transport.
"""

from __future__ import annotations

from tessera.config import Settings
from tessera.db import Connection, Database
from tessera.email import transport
from tessera.kit.clock import Clock, system_clock
from tessera.outbox.worker import EMAIL_POLICY, DeliveryError, Handler, Message, RetryPolicy
from tessera.waitlist import emails, offers
from tessera.waitlist.triggers import CHECK_TOPIC

# A failed look (the database briefly away) is retried soon: a free seat should not wait long.
POLICY = RetryPolicy(delays=[1, 5, 30, 120, 600] + [3600] * 24, timeout=60)


def build_handler(db: Database, *, clock: Clock = system_clock) -> Handler:
    async def deliver(message: Message) -> None:
        now = clock()
        organization_id = message.organization_id
        if message.topic == CHECK_TOPIC:
            event_id = message.payload["event_id"]

            async def check(conn: Connection) -> int:
                return await offers.offer_seats(conn, organization_id, event_id, now)

            await db.run(check)
            return
        if message.topic == offers.EXPIRY_TOPIC:

            async def end(conn: Connection) -> int:
                return await offers.expire(conn, organization_id, message.payload, now)

            wait = await db.run(end)
            if wait:  # delivered early (another process's clock): come back when it is due
                raise DeliveryError("the offer has not expired yet", retry_at=now + wait)
            return
        raise DeliveryError(f"no waitlist work for topic {message.topic!r}", permanent=True)

    return Handler(deliver, POLICY)


def build_email_handler(settings: Settings, db: Database) -> Handler:
    send = transport.transport_for(settings)

    async def deliver(message: Message) -> None:
        async with db.reader() as conn:
            email = await emails.compose_message(conn, settings, message)
        await send(email, message.id)

    return Handler(deliver, EMAIL_POLICY)
