"""Reading and posting the public event page's forms, as a browser without JavaScript does."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import httpx

from tests.support import Tenant

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_tokens(html: str) -> list[str]:
    """Every form's token on a page: the registration form's first, then each waitlist's."""
    return [unescape(token) for token in _TOKEN.findall(html)]


def field_error(html: str, name: str) -> str | None:
    found = re.search(rf'data-field="{re.escape(name)}">([^<]*)<', html)
    return unescape(found.group(1)) if found else None


def value_of(html: str, name: str) -> str | None:
    found = re.search(rf'name="{re.escape(name)}" type="[a-z]+" value="([^"]*)"', html)
    return unescape(found.group(1)) if found else None


def class_state(html: str, class_id: str) -> str | None:
    found = re.search(rf'data-class-id="{re.escape(class_id)}" data-state="([a-z_]+)"', html)
    return found.group(1) if found else None


def form_body(token: str, class_id: str, email: str, **fields: Any) -> dict[str, str]:
    body = {
        "csrf_token": token,
        "ticket_class_id": class_id,
        "quantity": "1",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": email,
        "website": "",
    }
    body.update({key: str(value) for key, value in fields.items()})
    return body


def register(
    tenant: Tenant, event_id: str, class_id: str, email: str = "ada@example.com", **fields: Any
) -> httpx.Response:
    """GET the page (the form cookie and a token), then POST the form; not following the 303."""
    client = tenant.api.client
    page = client.get(f"/e/{event_id}")
    assert page.status_code == 200, page.text
    token = csrf_tokens(page.text)[0]
    return client.post(
        f"/e/{event_id}/register",
        data=form_body(token, class_id, email, **fields),
        follow_redirects=False,
    )
