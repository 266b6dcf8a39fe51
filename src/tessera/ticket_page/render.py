"""HTML of the ticket page and its 404, from the template files beside this module.

The stylesheet is a template file too, inlined into each page (one request, nothing external to
load). Its SHA-256 goes into the Content-Security-Policy, so the page allows exactly that style
and no other inline style or script.
"""

from __future__ import annotations

import base64
import hashlib

from markupsafe import Markup

from tessera.kit import qr, templating
from tessera.ticket_page.service import TicketPage

_templates = templating.environment("tessera.ticket_page")
_STYLESHEET = _templates.loader.get_source(_templates, "page.css")[0]  # type: ignore[union-attr]
STYLE_HASH = "sha256-" + base64.b64encode(hashlib.sha256(_STYLESHEET.encode()).digest()).decode()

CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src '{STYLE_HASH}'; base-uri 'none'; form-action 'none';"
    " frame-ancestors 'none'"
)


def ticket_page(page: TicketPage) -> str:
    codes = {
        ticket.id: Markup(qr.svg(ticket.barcode, title=f"QR code of ticket {ticket.barcode}"))
        for ticket in page.tickets
        if ticket.shows_qr
    }
    return _templates.get_template("ticket_page.html").render(
        stylesheet=Markup(_STYLESHEET),
        event=page.event,
        tickets=page.tickets,
        qr=codes,
        # Relative to /t/{payment_id}: right behind any path prefix a proxy adds.
        ics_href=f"{page.payment_id}/event.ics",
    )


def not_found() -> str:
    return _templates.get_template("not_found.html").render(stylesheet=Markup(_STYLESHEET))
