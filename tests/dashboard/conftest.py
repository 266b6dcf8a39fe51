"""Fixtures of the dashboard tests: HTTP tests over the real app on both databases (the
``api`` fixture of tests/conftest.py) with signed-in users, and a served Tessera for the
browser tests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tessera.account import passwords
from tessera.account import service as accounts
from tests.browser import browser, page, playwright_instance  # noqa: F401
from tests.dashboard.served import ServedDashboard
from tests.support import ApiClient, Tenant

PASSWORD = "correct horse battery"
_HASH = passwords.hash_password(PASSWORD)  # once: Argon2id is slow on purpose
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class User:
    """A signed-in dashboard user: their session cookie and CSRF token. Requests send the
    cookie explicitly, so several users share one TestClient without sharing a jar."""

    api: ApiClient
    email: str
    organization_id: str
    role: str
    token: str = ""
    csrf: str = ""

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        client = self.api.client
        client.cookies.clear()
        headers = kwargs.pop("headers", {})
        if self.token:
            headers.setdefault("cookie", f"tessera_session={self.token}")
        response = client.request(method, path, headers=headers, follow_redirects=False, **kwargs)
        client.cookies.clear()
        return response

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(
        self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kwargs: Any
    ) -> httpx.Response:
        form = dict(data or {})
        if csrf:
            form.setdefault("csrf_token", self.csrf)
        return self.request("POST", path, data=form, **kwargs)

    def page_csrf(self) -> str:
        shown = self.get("/dashboard")
        assert shown.status_code == 200, shown.text
        found = CSRF_META.search(shown.text)
        assert found
        return found.group(1)


def sign_in(
    api: ApiClient, email: str, password: str = PASSWORD, old_token: str = ""
) -> httpx.Response:
    client = api.client
    client.cookies.clear()
    form = client.get("/dashboard/login")
    token = CSRF_INPUT.search(form.text)
    assert token, form.text
    login_cookie = form.cookies.get("tessera_login_csrf")
    cookie = f"tessera_login_csrf={login_cookie}"
    if old_token:
        cookie += f"; tessera_session={old_token}"
    client.cookies.clear()
    response = client.post(
        "/dashboard/login",
        data={
            "csrf_token": token.group(1),
            "email": email,
            "password": password,
            "next": "/dashboard",
        },
        headers={"cookie": cookie},
        follow_redirects=False,
    )
    client.cookies.clear()
    return response


def add_user(api: ApiClient, organization_id: str, email: str, role: str) -> None:
    api.run(lambda conn: accounts.add_member(conn, organization_id, email, role, _HASH, api.now()))


def user(api: ApiClient, tenant: Tenant, role: str = "owner", email: str = "") -> User:
    """A user of ``tenant``'s organization with ``role``, signed in."""
    email = email or f"{role}-{tenant.organization_id[-6:].lower()}@example.com"
    add_user(api, tenant.organization_id, email, role)
    response = sign_in(api, email)
    assert response.status_code == 303, response.text
    signed = User(
        api, email, tenant.organization_id, role, token=response.cookies["tessera_session"]
    )
    signed.csrf = signed.page_csrf()
    return signed


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedDashboard]:
    server = ServedDashboard(tmp_path_factory.mktemp("dashboard"))
    try:
        yield server.start()
    finally:
        server.stop()
