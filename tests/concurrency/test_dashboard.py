"""The dashboard's exactly-once claims under real concurrency, across server processes
(SQLite: two workers on one file; PostgreSQL: two servers on one database).

- A manual-add form submitted many times at once (a double click, a retrying browser, a user on
  two tabs) issues one batch, and every submit lands on that batch's page.
- Scanners reading one ticket at once check it in once: one green, the rest amber.
"""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from tests.concurrency.harness import Client, Cluster, describe

pytestmark = pytest.mark.slow

RACERS = 12


async def _sign_in(cluster: Cluster, http: httpx.AsyncClient) -> tuple[str, str]:
    """A new owner, signed in: (session token, CSRF token)."""
    email = f"owner-{len(cluster.keys)}-{id(http)}@race.example"
    made = cluster.cli("users", "create", email, "--org", cluster.org_id)
    base = cluster.urls[0]
    form = await http.get(f"{base}/dashboard/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    signed = await http.post(
        f"{base}/dashboard/login",
        data={"csrf_token": token.group(1), "email": email, "password": made["password"]},
        cookies={"tessera_login_csrf": form.cookies["tessera_login_csrf"]},
    )
    assert signed.status_code == 303, signed.text
    session = signed.cookies["tessera_session"]
    page = await http.get(f"{base}/dashboard", cookies={"tessera_session": session})
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)
    assert csrf
    return session, csrf.group(1)


def test_one_manual_add_form_submitted_at_once_issues_one_batch(cluster: Cluster) -> None:
    asyncio.run(_manual_add(cluster))


async def _manual_add(cluster: Cluster) -> None:
    async with Client(cluster) as api:
        event = await api.make_event()
        ticket_class = await api.make_class(event["id"], "Door")
        http = api.http
        session, csrf = await _sign_in(cluster, http)
        cookies = {"tessera_session": session}
        path = f"/dashboard/events/{event['id']}/attendees/new"
        page = await http.get(cluster.urls[0] + path, cookies=cookies)
        key = re.search(r'name="idempotency_key" value="([^"]+)"', page.text)
        assert key
        form = {
            "csrf_token": csrf,
            "idempotency_key": key.group(1),
            "ticket_class_id": ticket_class["id"],
            "email": "racer@example.com",
            "quantity": "20",  # a longer transaction: more submits arrive while it runs
        }
        await api.warm(RACERS // len(cluster.urls))
        responses = await asyncio.gather(
            *(
                http.post(api.url(path, route), data=form, cookies=cookies)
                for route in range(RACERS)
            )
        )
        assert {r.status_code for r in responses} == {303}, describe(responses)
        assert len({r.headers["location"] for r in responses}) == 1
        async with cluster.inspect() as db:
            tickets = await db.fetchval(
                "SELECT count(*) FROM tickets WHERE event_id = $1", event["id"]
            )
            payments = await db.fetchval(
                "SELECT count(*) FROM payments WHERE event_id = $1", event["id"]
            )
        assert (tickets, payments) == (20, 1)


def test_scanners_reading_one_ticket_at_once_check_it_in_once(cluster: Cluster) -> None:
    asyncio.run(_scan(cluster))


async def _scan(cluster: Cluster) -> None:
    async with Client(cluster) as api:
        event = await api.make_event()
        ticket_class = await api.make_class(event["id"], "Scan")
        created = await api.create_attendees(event["id"], ticket_class["id"], "scan@example.com")
        ticket = created.json()["data"][0]
        session, csrf = await _sign_in(cluster, api.http)
        path = f"/dashboard/events/{event['id']}/check-in/scan"
        await api.warm(RACERS // len(cluster.urls))
        responses = await asyncio.gather(
            *(
                api.http.post(
                    api.url(path, route),
                    data={"barcode": ticket["barcode"]},
                    headers={"X-CSRF-Token": csrf},
                    cookies={"tessera_session": session},
                )
                for route in range(RACERS)
            )
        )
        assert {r.status_code for r in responses} == {200}, describe(responses)
        outcomes = sorted(re.findall(r'data-outcome="(\w+)"', r.text)[0] for r in responses)
        assert outcomes == ["already"] * (RACERS - 1) + ["ok"]
        async with cluster.inspect() as db:
            changes = await db.fetchval(
                "SELECT count(*) FROM ticket_status_changes WHERE ticket_id = $1", ticket["id"]
            )
        assert changes == 1
