"""HTML of the public pages from the template files beside this module.

The stylesheet is inlined and allowed by its hash; the only script is the small static file that
shows the reader's local time (``script-src 'self'``); forms post to this site only.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from tessera.kit import templating
from tessera.public.form import Question
from tessera.public.page import PublicEvent
from tessera.ticket_page.service import EventView

_templates = templating.environment("tessera.public")
_templates.auto_reload = False  # templates ship with the package: no stat per render
_STYLESHEET = _templates.loader.get_source(_templates, "public.css")[0]  # type: ignore[union-attr]
STYLE_HASH = "sha256-" + base64.b64encode(hashlib.sha256(_STYLESHEET.encode()).digest()).decode()

CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src '{STYLE_HASH}'; script-src 'self'; base-uri 'none';"
    " form-action 'self'; frame-ancestors 'none'"
)
SCRIPT_PATH = "/e/static/localtime.js"


@dataclass(slots=True)
class FormView:
    """A form as rendered: what was typed, a message per field, one for the whole form."""

    csrf_token: str
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    message: str | None = None
    prefix: str = ""  # id prefix, so several forms on one page keep their ids unique
    answers: dict[str, list[str]] = field(default_factory=dict)  # typed, per question id


def _summary(page: PublicEvent) -> str:
    where = page.event.place or ("Online" if page.event.online_url else "")
    text = f"{page.event.when}" + (f" · {where}" if where else "")
    if page.description:
        text += f" · {page.description}"
    return text if len(text) <= 200 else text[:199].rstrip() + "\N{HORIZONTAL ELLIPSIS}"


def event_page(
    page: PublicEvent,
    base_url: str,
    form: FormView,
    waitlist_forms: dict[str, FormView],
    questions: list[Question],
) -> str:
    chosen = page.find(form.values.get("ticket_class_id", ""))
    return _templates.get_template("event.html").render(
        stylesheet=Markup(_STYLESHEET),
        page=page,
        event=page.event,
        summary=_summary(page),
        canonical=f"{base_url}/e/{page.id}",
        starts_iso=page.event.starts_at.isoformat(),
        ends_iso=page.event.ends_at.isoformat() if page.event.ends_at else "",
        show_online_link=False,
        # Absolute paths: a re-rendered form is answered from /e/{id}/register.
        ics_href=f"/e/{page.id}/event.ics",
        register_action=f"/e/{page.id}/register",
        waitlist_action=f"/e/{page.id}/waitlist",
        form=form,
        chosen=chosen,
        waitlist_forms=waitlist_forms,
        questions=questions,
        script_src=SCRIPT_PATH,
    )


def not_found() -> str:
    return _templates.get_template("not_found.html").render(stylesheet=Markup(_STYLESHEET))


def message(
    title: str,
    lines: list[str],
    *,
    event: EventView | None = None,
    link: tuple[str, str] | None = None,
    outcome: str = "",
    **extra: Any,
) -> str:
    """A one-card page: a title, a few sentences and at most one button."""
    return _templates.get_template("message.html").render(
        stylesheet=Markup(_STYLESHEET),
        title=title,
        lines=lines,
        event=event,
        link=link,
        outcome=outcome,
        **extra,
    )


def template(name: str, **context: Any) -> str:
    return _templates.get_template(name).render(stylesheet=Markup(_STYLESHEET), **context)
