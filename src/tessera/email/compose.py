"""Email messages from the template files beside this module: a plain-text part, an HTML part,
and attachments.

A message's Message-ID is derived from its outbox row, so a copy delivered twice (a worker died
after the server accepted it) carries the same ID, and mail systems and people can tell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import charset, encoders, policy
from email.header import Header
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any

from tessera.kit import templating
from tessera.kit.clock import to_datetime

_templates = templating.environment("tessera.email")
_LINE_BREAKS = re.compile(r"[\r\n\t]+")

#: How a message is written out (SMTP's CRLF line ends). Messages are built with the ``email``
#: package's classic classes: the modern ``EmailMessage`` parses every header it is given back
#: through its header registry, which made composing one confirmation cost ~4 ms of CPU — more
#: than the registration that queued it (measured in bench/public.py); these build the same
#: MIME tree in under a millisecond.
WIRE_POLICY = policy.compat32.clone(linesep="\r\n")

# Text parts in quoted-printable: readable in the raw message, safe for any character.
_UTF8_QP = charset.Charset("utf-8")
_UTF8_QP.body_encoding = charset.QP


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
) -> Message:
    """``template``.txt and ``template``.html rendered with ``context`` (which holds the
    ``subject``) as one multipart message: text and HTML as alternatives, then attachments."""
    body = MIMEMultipart("alternative")
    body.attach(_text(_templates.get_template(f"{template}.txt").render(context), "plain"))
    body.attach(_text(_templates.get_template(f"{template}.html").render(context), "html"))
    message = body
    if attachments:
        message = MIMEMultipart("mixed")
        message.attach(body)
        for item in attachments:
            message.attach(_attachment(item))
    message["Subject"] = _header_text("Subject", _one_line(context["subject"]))
    message["From"] = formataddr(parseaddr(_one_line(envelope.sender)))
    message["To"] = formataddr((_one_line(envelope.recipient_name), envelope.recipient_email))
    message["Date"] = format_datetime(to_datetime(envelope.queued_at))
    message["Message-ID"] = message_id(envelope.outbox_id, envelope.queued_at, envelope.sender)
    # RFC 3834: no vacation auto-replies to a machine-sent message.
    message["Auto-Submitted"] = "auto-generated"
    return message


def _header_text(name: str, text: str) -> str:
    """Non-ASCII header text as RFC 2047 encoded words, folded after the header's name."""
    return text if text.isascii() else Header(text, "utf-8", header_name=name).encode()


def _text(content: str, subtype: str) -> MIMEText:
    if content.isascii():
        return MIMEText(content, subtype, "us-ascii")
    return MIMEText(content, subtype, _UTF8_QP)  # type: ignore[arg-type]


def _attachment(item: Attachment) -> MIMEBase:
    part = MIMEBase(item.maintype, item.subtype)
    for name, value in item.params.items():
        part.set_param(name, value)
    part.set_payload(item.content)
    encoders.encode_base64(part)
    part.add_header("Content-Disposition", "attachment", filename=item.filename)
    return part


def to_bytes(message: Message) -> bytes:
    """The message as sent: CRLF line ends, headers folded."""
    return message.as_bytes(policy=WIRE_POLICY)
