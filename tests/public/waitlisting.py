"""Helpers of the waitlist tests: joining through the page, reading entries and offers."""

from __future__ import annotations

import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import httpx

from tests.public.support import csrf_tokens
from tests.support import ApiClient, Tenant


def join(tenant: Tenant, event_id: str, class_id: str, email: str, **fields: str) -> httpx.Response:
    client = tenant.api.client
    page = client.get(f"/e/{event_id}")
    assert page.status_code == 200
    token = csrf_tokens(page.text)[-1]
    body = {
        "csrf_token": token,
        "ticket_class_id": class_id,
        "first_name": email.split("@")[0].title(),
        "last_name": "Waiting",
        "email": email,
        "website": "",
        **fields,
    }
    return client.post(f"/e/{event_id}/waitlist", data=body, follow_redirects=False)


def entries(tenant: Tenant, event_id: str, query: str = "") -> list[dict[str, Any]]:
    response = tenant.get(f"/api/v1/events/{event_id}/waitlist{query}")
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def by_email(tenant: Tenant, event_id: str) -> dict[str, dict[str, Any]]:
    return {entry["email"]: entry for entry in entries(tenant, event_id)}


def claim_token(api: ApiClient, entry_id: str) -> str:
    async def read(conn: Any) -> str:
        value: str = await conn.fetchval(
            "SELECT claim_token FROM waitlist_entries WHERE id = $1", entry_id
        )
        return value

    token: str = api.run(read)
    return token


def answer(api: ApiClient, event_id: str, token: str, action: str) -> httpx.Response:
    """Open the claim link (the form's cookie and token), then press a button."""
    page = api.client.get(f"/e/{event_id}/claim/{token}")
    assert page.status_code == 200, page.text
    tokens = csrf_tokens(page.text)
    assert tokens, page.text
    data = {"csrf_token": tokens[0]}
    if action:  # without one, the page's first form: claim
        data["action"] = action
    return api.client.post(f"/e/{event_id}/claim/{token}", data=data, follow_redirects=False)


def mails(mail_dir: Path) -> list[EmailMessage]:
    found = []
    for path in sorted(mail_dir.glob("*.eml"), key=lambda p: int(p.stem)):
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        assert isinstance(message, EmailMessage)
        found.append(message)
    return found


def subjects(mail_dir: Path, to: str) -> list[str]:
    return [str(m["Subject"]) for m in mails(mail_dir) if to in str(m["To"])]


def claim_link(mail_dir: Path, to: str) -> str:
    for message in reversed(mails(mail_dir)):
        if to in str(message["To"]):
            body = message.get_body(preferencelist=("plain",))
            assert body is not None
            found = re.search(r"https?://\S+/claim/\S+", body.get_content())
            if found:
                return found.group(0)
    raise AssertionError(f"no claim link sent to {to}")
