"""``multipart/form-data`` (the import page's file upload), read with the standard library.

The dashboard's only multipart form is the import page's, so the standard library's MIME
parser is enough and no parser dependency is added. A body that is not well-formed reads as
an empty form (the CSRF check then refuses it, as it refuses any form without its token).
"""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tessera.dashboard.pages import Form


def parse(content_type: str, body: bytes) -> Form:
    from tessera.dashboard.pages import Form  # pages imports this module

    fields: dict[str, list[str]] = {}
    files: dict[str, bytes] = {}
    file_names: dict[str, str] = {}
    header = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode(
        "latin-1", "replace"
    )
    message = BytesParser(policy=policy.HTTP).parsebytes(header + body)
    if not isinstance(message, EmailMessage) or not message.is_multipart():
        return Form({})
    for part in message.iter_parts():
        if not isinstance(part, EmailMessage):
            continue
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or not name:
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            files[name] = data
            file_names[name] = filename
        else:
            fields.setdefault(name, []).append(data.decode("utf-8", "replace"))
    return Form(fields, files, file_names)
