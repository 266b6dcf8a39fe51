"""The dashboard's security, over HTTP against the real app (SQLite and PostgreSQL): sign-in
redirects, CSRF on every form, session fixation, expiry and revocation, the throttle, the role
matrix, tenancy, and the headers that keep scripts out."""

from __future__ import annotations

import re
import time

import pytest

from tests.dashboard.conftest import CSRF_INPUT, PASSWORD, User, add_user, sign_in, user
from tests.dashboard.world import MISSING, build, dashboard_routes, render
from tests.support import ApiClient, row_counts

PUBLIC = {("GET", "/dashboard/login"), ("POST", "/dashboard/login")}


def test_every_page_without_a_session_redirects_to_sign_in(api: ApiClient) -> None:
    world = build(api)
    before = row_counts(api)
    anonymous = User(api, "", world.tenant.organization_id, "")
    for method, path in dashboard_routes(api):
        if (method, path) in PUBLIC:
            continue
        url = render(path, world.ids)
        response = anonymous.request(method, url, data={"csrf_token": "x"})
        assert response.status_code == 303, (method, url, response.status_code)
        location = response.headers["location"]
        assert location.startswith("/dashboard/login?next=/dashboard"), location
    assert row_counts(api) == before
    assert anonymous.get("/dashboard").headers["location"] == "/dashboard/login?next=/dashboard"


def test_sign_in_goes_only_to_relative_dashboard_addresses(api: ApiClient) -> None:
    for target, expected in (
        ("/dashboard/team", "/dashboard/team"),
        ("//evil.example/x", "/dashboard"),
        ("https://evil.example/", "/dashboard"),
        ("/dashboard\\@evil", "/dashboard"),
        ("/api/v1/events", "/dashboard"),
    ):
        page = api.client.get("/dashboard/login", params={"next": target})
        assert f'name="next" value="{expected}"' in page.text.replace("&#34;", '"'), target


def test_every_form_refuses_a_missing_or_wrong_csrf_token(api: ApiClient) -> None:
    world = build(api)
    before = row_counts(api)
    posts = [(m, p) for m, p in dashboard_routes(api) if m == "POST" and (m, p) not in PUBLIC]
    assert len(posts) >= 15
    for _, path in posts:
        url = render(path, world.ids)
        for token in (None, "forged", world.owner.csrf + "x"):
            data = {} if token is None else {"csrf_token": token}
            response = world.owner.post(url, data, csrf=False)
            assert response.status_code == 403, (url, token, response.status_code)
            assert "did not come from this site" in response.text
        htmx = world.owner.post(url, {}, csrf=False, headers={"X-CSRF-Token": "forged"})
        assert htmx.status_code == 403
    assert row_counts(api) == before
    # The header htmx sends is accepted like the field.
    scan = world.owner.request(
        "POST",
        f"/dashboard/events/{world.ids['event_id']}/check-in/scan",
        data={"barcode": "NOPE"},
        headers={"X-CSRF-Token": world.owner.csrf},
    )
    assert scan.status_code == 200 and "Not valid" in scan.text


def test_sign_in_form_refuses_a_post_without_its_token(api: ApiClient) -> None:
    tenant = api.tenant()
    add_user(api, tenant.organization_id, "a@example.com", "owner")
    api.client.cookies.clear()
    response = api.client.post(
        "/dashboard/login",
        data={"email": "a@example.com", "password": PASSWORD},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert "tessera_session" not in response.cookies


def test_sign_in_sets_a_fresh_session_and_ends_the_one_before(api: ApiClient) -> None:
    tenant = api.tenant()
    first = user(api, tenant, "owner", "fix@example.com")
    response = sign_in(api, "fix@example.com", old_token=first.token)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/dashboard" in cookie
    assert "Secure" not in cookie  # http:// base URL; https:// sets it (test below)
    second = response.cookies["tessera_session"]
    assert second != first.token
    assert first.get("/dashboard").status_code == 303  # the old session is over
    assert User(api, "", "", "", token=second).get("/dashboard").status_code == 200


def test_a_planted_unknown_session_token_is_never_adopted(api: ApiClient) -> None:
    tenant = api.tenant()
    add_user(api, tenant.organization_id, "plant@example.com", "owner")
    planted = "attacker-chosen-token"
    response = sign_in(api, "plant@example.com", old_token=planted)
    assert response.cookies["tessera_session"] != planted
    assert User(api, "", "", "", token=planted).get("/dashboard").status_code == 303


def test_sessions_end_after_12_idle_hours_and_after_7_days(api: ApiClient, clock) -> None:  # type: ignore[no-untyped-def]
    tenant = api.tenant()
    idle = user(api, tenant, "owner", "idle@example.com")
    busy = user(api, tenant, "admin", "busy@example.com")
    clock.advance(hours=11)
    assert busy.get("/dashboard").status_code == 200  # seen: the idle clock restarts
    clock.advance(hours=1.1)
    assert idle.get("/dashboard").status_code == 303
    for _ in range(15):  # active every 11 hours (the last at 166 h), still ends at 168 h
        assert busy.get("/dashboard").status_code == 200
        clock.advance(hours=11)
    assert busy.get("/dashboard").status_code == 303


def test_sign_out_and_password_change_end_sessions(api: ApiClient) -> None:
    tenant = api.tenant()
    laptop = user(api, tenant, "owner", "pw@example.com")
    phone = User(
        api,
        laptop.email,
        laptop.organization_id,
        "owner",
        token=sign_in(api, laptop.email).cookies["tessera_session"],
    )
    phone.csrf = phone.page_csrf()
    changed = laptop.post(
        "/dashboard/account/password",
        {
            "current_password": PASSWORD,
            "new_password": "a much better one",
            "confirm_password": "a much better one",
        },
    )
    assert changed.status_code == 303
    assert phone.get("/dashboard").status_code == 303
    assert laptop.get("/dashboard").status_code == 303  # rotated: the browser got a new one
    renewed = User(api, "", "", "", token=changed.cookies["tessera_session"])
    assert renewed.get("/dashboard").status_code == 200
    assert sign_in(api, laptop.email).status_code == 400
    fresh = sign_in(api, laptop.email, "a much better one")
    assert fresh.status_code == 303
    signed = User(api, "", "", "", token=fresh.cookies["tessera_session"])
    signed.csrf = signed.page_csrf()
    assert signed.post("/dashboard/logout").status_code == 303
    assert signed.get("/dashboard").status_code == 303


def test_wrong_password_and_unknown_email_answer_alike(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tessera.account import passwords

    tenant = api.tenant()
    add_user(api, tenant.organization_id, "known@example.com", "owner")
    verified: list[str] = []
    real_verify = passwords.verify

    def counting_verify(password_hash: str, password: str) -> bool:
        verified.append(password_hash)
        return real_verify(password_hash, password)

    monkeypatch.setattr(passwords, "verify", counting_verify)

    def attempt(email: str) -> tuple[int, str, float]:
        started = time.perf_counter()
        response = sign_in(api, email, "not the password")
        elapsed = time.perf_counter() - started
        body = re.sub(r'value="[^"]*"', "", response.text)
        body = body.replace("known@example.com", "").replace("nobody@example.com", "")
        return response.status_code, body, elapsed

    known = [attempt("known@example.com") for _ in range(3)]
    unknown = [attempt("nobody@example.com") for _ in range(3)]
    assert {status for status, _, _ in known + unknown} == {400}
    assert "Incorrect email or password." in known[0][1]
    assert known[0][1] == unknown[0][1]
    # The same work either way: every attempt verified one Argon2id hash (a dummy one for the
    # unknown email), so none can answer sooner than a verification takes.
    assert len(verified) == 6 and all(h.startswith("$argon2id$") for h in verified)
    one_verify = min(_timed(lambda: real_verify(verified[0], "x")) for _ in range(3))
    assert min(t for _, _, t in known + unknown) > 0.8 * one_verify


def _timed(work: object) -> float:
    started = time.perf_counter()
    work()  # type: ignore[operator]
    return time.perf_counter() - started


def test_failed_sign_ins_are_slowed_then_refused_per_email(api: ApiClient) -> None:
    tenant = api.tenant()
    add_user(api, tenant.organization_id, "target@example.com", "owner")
    timings = []
    for _ in range(6):
        started = time.perf_counter()
        response = sign_in(api, "target@example.com", "guess")
        timings.append(time.perf_counter() - started)
        assert response.status_code == 400
    assert max(timings[:3]) < 1.0 <= min(timings[3:])  # slowed from the fourth failure
    locked = sign_in(api, "target@example.com", PASSWORD)  # even the right password
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0
    assert "Too many failed sign-ins" in locked.text
    assert "tessera_session" not in locked.cookies


def test_failed_sign_ins_are_refused_per_client(api: ApiClient) -> None:
    from tessera.account import throttle

    tenant = api.tenant()
    add_user(api, tenant.organization_id, "fine@example.com", "owner")
    # One client guessing many accounts: 29 failures recorded as the service records them...
    for n in range(throttle.PER_CLIENT.refuse_after - 1):
        api.run(
            lambda conn, n=n: throttle.failed(conn, f"x{n}@example.com", "testclient", api.now())
        )
    assert sign_in(api, "fine@example.com", "guess").status_code == 400  # the 30th, over HTTP
    assert sign_in(api, "fine@example.com", PASSWORD).status_code == 429


def _expected_status(role: str, method: str, path: str) -> int | None:
    """None: allowed. Door staff reach the events list, check-in and attendee search only."""
    if path.startswith(("/dashboard/login", "/dashboard/logout", "/dashboard/account")):
        return None
    if path.startswith("/dashboard/team"):
        return None if role == "owner" else 403
    if role in ("owner", "admin"):
        return None
    door_pages = (
        path == "/dashboard"
        or "/check-in" in path
        or (method == "GET" and path == "/dashboard/events/{event_id}/attendees")
    )
    return None if door_pages else 403


@pytest.mark.parametrize("role", ["door", "admin"])
def test_role_matrix(api: ApiClient, role: str) -> None:
    world = build(api)
    member = user(api, world.tenant, role, f"{role}-matrix@example.com")
    before = row_counts(api)
    for method, path in dashboard_routes(api):
        if (method, path) in PUBLIC or path == "/dashboard/logout":
            continue
        expected = _expected_status(role, method, path)
        url = render(path, world.ids)
        response = member.request(method, url) if method == "GET" else member.post(url, {})
        if expected == 403:
            assert response.status_code == 403, (role, method, path, response.status_code)
            assert "This page is for" in response.text
        else:
            assert response.status_code != 403, (role, method, path)
    if role == "door":
        assert row_counts(api)["memberships"] == before["memberships"]


def test_another_organizations_ids_answer_exactly_like_missing_ones(api: ApiClient) -> None:
    mine = build(api, "Mine")
    theirs = build(api, "Theirs")
    before = row_counts(api)
    checked = 0
    for method, path in dashboard_routes(api):
        if "{" not in path:
            continue
        for_theirs = render(path, theirs.ids)
        for_missing = render(path, MISSING)
        answers = []
        for url in (for_theirs, for_missing):
            response = mine.owner.get(url) if method == "GET" else mine.owner.post(url, {})
            answers.append((response.status_code, response.text))
        assert answers[0][0] == 404, (method, path, answers[0][0])
        assert answers[0] == answers[1], (method, path)
        checked += 1
    assert checked >= 20
    after = row_counts(api)
    # Reads of mine.owner's pages write nothing of another organization.
    assert after["tickets"] == before["tickets"] and after["api_keys"] == before["api_keys"]


def test_pages_carry_a_strict_csp_and_no_inline_script_or_style(api: ApiClient) -> None:
    world = build(api)
    for path in (
        "/dashboard",
        "/dashboard/events/{event_id}",
        "/dashboard/events/{event_id}/attendees",
        "/dashboard/events/{event_id}/attendees/new",
        "/dashboard/events/{event_id}/check-in",
        "/dashboard/api-keys",
        "/dashboard/webhooks",
        "/dashboard/team",
    ):
        response = world.owner.get(render(path, world.ids))
        assert response.status_code == 200, path
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert response.headers["x-frame-options"] == "DENY"
        assert re.search(r"<script(?![^>]*\bsrc=)", response.text) is None, path
        assert re.search(r"\sstyle=", response.text) is None, path
        assert re.search(r"\son[a-z]+=", response.text) is None, path
    login = api.client.get("/dashboard/login")
    assert "frame-ancestors 'none'" in login.headers["content-security-policy"]


def test_static_files_are_served_from_the_package(api: ApiClient) -> None:
    for name in ("htmx.min.js", "jsQR.js", "checkin.js", "dashboard.css", "dashboard.js"):
        response = api.client.get(f"/dashboard/static/{name}")
        assert response.status_code == 200, name
        assert len(response.content) > 100


def test_the_session_cookie_is_secure_behind_https(settings, clock) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from tessera.app import create_app

    secure = settings.model_copy(update={"base_url": "https://tickets.example.com"})
    with TestClient(create_app(secure, clock=clock), base_url="https://testserver") as client:
        api = ApiClient(client)
        tenant = api.tenant()
        add_user(api, tenant.organization_id, "tls@example.com", "owner")
        response = sign_in(api, "tls@example.com")
        assert response.status_code == 303
        assert "; Secure" in response.headers["set-cookie"] or "secure" in response.headers[
            "set-cookie"
        ].lower().split("; ")


def test_dead_sessions_and_old_failures_are_forgotten(api: ApiClient, clock) -> None:  # type: ignore[no-untyped-def]
    tenant = api.tenant()
    first = user(api, tenant, "owner", "tidy@example.com")
    assert first.post("/dashboard/logout").status_code == 303
    assert sign_in(api, "tidy@example.com", "wrong").status_code == 400
    assert api.count("sign_in_failures") == 2  # the email and the client
    clock.advance(hours=13)
    assert sign_in(api, "tidy@example.com").status_code == 303
    assert api.count("dashboard_sessions") == 1  # the signed-out one went
    assert sign_in(api, "other@example.com", "wrong").status_code == 400
    assert api.count("sign_in_failures") == 2  # the finished window's counts went


def test_an_htmx_call_without_a_session_reloads_the_sign_in_page(api: ApiClient) -> None:
    tenant = api.tenant()
    anonymous = User(api, "", tenant.organization_id, "")
    first = anonymous.get("/dashboard/events/x/attendees?q=a", headers={"HX-Request": "true"})
    assert first.status_code == 303
    login = anonymous.get(first.headers["location"], headers={"HX-Request": "true"})
    assert (
        login.headers["hx-redirect"]
        == "/dashboard/login?next=/dashboard/events/x/attendees%3Fq%3Da"
    )


def test_a_member_of_two_organizations_switches_with_a_new_session(api: ApiClient) -> None:
    first, second, stranger = api.tenant("First"), api.tenant("Second"), api.tenant("Third")
    signed = user(api, first, "owner", "both@example.com")
    add_user(api, second.organization_id, "both@example.com", "door")
    listed = signed.get("/dashboard/account/organizations").text
    assert "First" in listed and "Second" in listed and "Third" not in listed
    refused = signed.post(f"/dashboard/account/organizations/{stranger.organization_id}")
    missing = signed.post("/dashboard/account/organizations/org_AAAAAAAAAAAAAAAAAAAA")
    assert refused.status_code == missing.status_code == 404
    assert refused.text == missing.text
    switched = signed.post(f"/dashboard/account/organizations/{second.organization_id}")
    assert switched.status_code == 303
    assert signed.get("/dashboard").status_code == 303  # the old session ended
    door = User(
        api, signed.email, second.organization_id, "door", token=switched.cookies["tessera_session"]
    )
    assert "Second" in door.get("/dashboard").text
    assert door.get("/dashboard/api-keys").status_code == 403  # the role of that organization


def test_behind_https_only_the_session_cookie_is_secure_and_sign_in_works_over_http(
    settings, clock
) -> None:  # type: ignore[no-untyped-def]
    """SPEC §8: the session cookie is ``Secure`` when TESSERA_BASE_URL is https and
    ``SameSite=Lax``. The sign-in form's anti-forgery nonce is no credential: it is not Secure,
    so signing in still works where the site is reached over plain http (a client never sends
    a Secure cookie back over http)."""
    from fastapi.testclient import TestClient

    from tessera.app import create_app

    secure = settings.model_copy(update={"base_url": "https://tickets.example.com"})
    with TestClient(create_app(secure, clock=clock)) as client:  # plain http
        api = ApiClient(client)
        tenant = api.tenant()
        add_user(api, tenant.organization_id, "plain@example.com", "owner")
        form = client.get("/dashboard/login")
        assert "secure" not in form.headers["set-cookie"].lower()
        response = sign_in(api, "plain@example.com")
        assert response.status_code == 303, response.text
        session = response.headers["set-cookie"]
        assert session.startswith("tessera_session=")
        assert "; Secure" in session and "SameSite=Lax" in session and "HttpOnly" in session


def test_sign_in_goes_to_the_page_asked_for_in_the_address(api: ApiClient) -> None:
    """``POST /dashboard/login?next=…`` with only email, password and csrf_token (the form's
    hidden ``next`` left out) still answers 303 to the page asked for."""
    tenant = api.tenant()
    add_user(api, tenant.organization_id, "next@example.com", "owner")
    client = api.client
    client.cookies.clear()
    form = client.get("/dashboard/login?next=/dashboard/team")
    token = CSRF_INPUT.search(form.text)
    assert token
    response = client.post(
        "/dashboard/login?next=/dashboard/team",
        data={"email": "next@example.com", "password": PASSWORD, "csrf_token": token.group(1)},
        headers={"cookie": f"tessera_login_csrf={form.cookies.get('tessera_login_csrf')}"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/dashboard/team"
