"""Email messages from the template files beside this module: a plain-text part, an HTML part,
and attachments.

A message's Message-ID is derived from its outbox row, so a copy delivered twice (a worker died
after the server accepted it) carries the same ID, and mail systems and people can tell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any

from tessera.kit import templating
from tessera.kit.clock import to_datetime

_templates = templating.environment("tessera.email")
_LINE_BREAKS = re.compile(r"[\r\n\t]+")


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    maintype: str
    subtype: str
    content: bytes
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Envelope:
    """Who the message is from and to, and the outbox row it is made for."""

    sender: str  # TESSERA_MAIL_FROM: an address, or "Name <address>"
    recipient_email: str
    recipient_name: str
    outbox_id: int
    queued_at: int  # microseconds; the message's Date


def _one_line(text: str) -> str:
    """Header values never carry a line break (no header injection through a name)."""
    return _LINE_BREAKS.sub(" ", text).strip()


def message_id(outbox_id: int, queued_at: int, sender: str) -> str:
    """``<outbox.42.1785000000000000@example.com>``: the same for every delivery of one row."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "tessera.invalid"
    return f"<outbox.{outbox_id}.{queued_at}@{domain}>"


def wording(macro: str, *args: Any) -> str:
    """A sentence from a macro in ``wording.txt``, as plain text.

    Rendered here and passed to both parts as a plain string, so the HTML part escapes it like
    any other value. (Imported into an HTML template, a macro of a text template would come back
    marked safe and unescaped.)
    """
    module = _templates.get_template("wording.txt").module
    return str(getattr(module, macro)(*args)).strip()


def build(
    envelope: Envelope,
    template: str,
    context: dict[str, Any],
    attachments: list[Attachment] | None = None,
) -> EmailMessage:
    """``template``.txt and ``template``.html rendered with ``context`` (which holds the
    ``subject``) as one multipart message."""
    message = EmailMessage()
    message["Subject"] = _one_line(context["subject"])
    message["From"] = _one_line(envelope.sender)
    recipient = Address(addr_spec=envelope.recipient_email)
    message["To"] = formataddr((_one_line(envelope.recipient_name), recipient.addr_spec))
    message["Date"] = format_datetime(to_datetime(envelope.queued_at))
    message["Message-ID"] = message_id(envelope.outbox_id, envelope.queued_at, envelope.sender)
    # RFC 3834: no vacation auto-replies to a machine-sent message.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(_templates.get_template(f"{template}.txt").render(context))
    message.add_alternative(
        _templates.get_template(f"{template}.html").render(context), subtype="html"
    )
    for item in attachments or []:
        message.add_attachment(
            item.content,
            maintype=item.maintype,
            subtype=item.subtype,
            filename=item.filename,
            params=item.params,
        )
    return message
