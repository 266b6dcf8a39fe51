"""Reading what Tessera sent: the outbox rows, and the parts of a received message."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

from tessera.db import Connection
from tests.support import ApiClient


def outbox_rows(api: ApiClient) -> list[dict[str, Any]]:
    async def work(conn: Connection) -> list[dict[str, Any]]:
        rows = await conn.fetch(
            "SELECT id, kind, topic, status, attempts, last_error FROM outbox ORDER BY id"
        )
        return [dict(row) for row in rows]

    result: list[dict[str, Any]] = api.run(work)
    return result


def _body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None, f"no text/{subtype} part"
    content: str = part.get_content()  # type: ignore[attr-defined]
    return content.replace("\r\n", "\n")  # SMTP's line ends, whatever the sender wrote


def text_part(message: EmailMessage) -> str:
    return _body(message, "plain")


def html_part(message: EmailMessage) -> str:
    return _body(message, "html")


def calendar_attachment(message: EmailMessage) -> tuple[str | None, bytes]:
    """(file name, bytes) of the one text/calendar attachment."""
    found = [
        part for part in message.iter_attachments() if part.get_content_type() == "text/calendar"
    ]
    assert len(found) == 1, [part.get_content_type() for part in message.iter_attachments()]
    payload = found[0].get_payload(decode=True)
    assert isinstance(payload, bytes)
    return found[0].get_filename(), payload
