"""Where an email goes: an SMTP server (``TESSERA_SMTP_URL``), or ``.eml`` files in
``TESSERA_MAIL_DIR`` — the default on a fresh machine, where no mail server exists.

- ``smtp://user:pass@host:587``: plain connection upgraded with STARTTLS whenever the server
  offers it (port 587 when none is given).
- ``smtps://user:pass@host:465``: TLS from the first byte (port 465 when none is given).
- User and password are URL-decoded (``%40`` for an ``@`` in a user name).

Every failure raises, so the outbox worker retries with backoff; a recipient the server refuses
for good (5xx) is a permanent failure. Errors never carry the URL's password.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import Awaitable, Callable
from email.message import Message as MimeMessage
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiosmtplib

from tessera.config import Settings
from tessera.email import compose
from tessera.outbox.worker import DeliveryError

Send = Callable[[MimeMessage, int], Awaitable[None]]

SMTP_TIMEOUT = 30.0


def transport_for(settings: Settings) -> Send:
    if settings.smtp_url:
        return smtp_sender(settings.smtp_url)
    return mail_dir_writer(settings.mail_dir)


def smtp_sender(url: str) -> Send:
    parts = urlsplit(url)
    implicit_tls = parts.scheme == "smtps"
    host = parts.hostname or "localhost"
    port = parts.port or (465 if implicit_tls else 587)
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    where = f"{parts.scheme}://{host}:{port}"  # for errors: never the credentials

    async def send(message: MimeMessage, outbox_id: int) -> None:
        try:
            await aiosmtplib.send(
                message,
                hostname=host,
                port=port,
                username=username,
                password=password,
                use_tls=implicit_tls,
                start_tls=False if implicit_tls else None,  # None: STARTTLS when offered
                timeout=SMTP_TIMEOUT,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            permanent = all(refused.code >= 500 for refused in exc.recipients)
            reasons = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
            raise DeliveryError(
                f"{where} refused the recipient: {reasons}", permanent=permanent
            ) from None
        except (aiosmtplib.SMTPConnectError, OSError) as exc:
            raise DeliveryError(f"{where} unreachable: {exc}") from None
        except aiosmtplib.SMTPException as exc:
            raise DeliveryError(f"{where}: {type(exc).__name__}: {exc}") from None

    return send


def mail_dir_writer(directory: Path) -> Send:
    async def send(message: MimeMessage, outbox_id: int) -> None:
        content = compose.to_bytes(message)
        await asyncio.to_thread(write_atomically, directory, f"{outbox_id}.eml", content)

    return send


def write_atomically(directory: Path, name: str, content: bytes) -> None:
    """Write ``directory/name`` so that a reader sees the whole file or none of it: a temporary
    file in the same folder, flushed to disk, then renamed over the name. A redelivery of the
    same outbox row replaces the file rather than adding a second one."""
    directory.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, directory / name)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
