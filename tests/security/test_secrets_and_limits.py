"""API keys stay secret; oversized requests are refused cleanly (SPEC §1).

- A real `tessera serve` with its access log on answers requests that carry keys (valid, wrong
  scope, revoked-looking, in the query string by mistake); its whole output must not contain
  any key, nor the secret part of one.
- No table of either database holds a key in plain text, after requests that stored responses.
- A body over 1 MiB is 413 (declared or chunked), a huge header 431, a huge URL a 4xx; never a
  500, and the server keeps serving.
"""

from __future__ import annotations

import socket
import time
from typing import Any

import httpx

from tessera.auth import keys as key_rules
from tests.concurrency.harness import Cluster
from tests.support import ApiClient, event_body


def _secret_parts(key: str) -> list[str]:
    """The key and the random part after its prefix: neither may appear anywhere."""
    return [key, key[len(key_rules.display_prefix(key)) :]]


def _assert_error_shape(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body["error"], str) and isinstance(body["code"], str), body


def test_api_keys_never_reach_the_logs(logged_server: Cluster) -> None:
    url = logged_server.urls[0]
    key = logged_server.key
    reader = logged_server.cli(
        "keys", "create", "--org", logged_server.org_id, "--name", "r", "--scopes", "events:read"
    )["key"]
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    with httpx.Client(base_url=url, timeout=30) as http:
        for presented in (key, reader, forged):
            headers = {"X-API-KEY": presented}
            http.get("/api/v1/events", headers=headers)
            http.get("/api/v1/events/nope", headers=headers)
            http.post("/api/v1/events", json=event_body(), headers=headers)
            http.post(
                "/api/v1/events",
                json=event_body(),
                headers={**headers, "Idempotency-Key": "logged-1"},
            )
            http.post("/api/v1/events", content=b"{not json", headers=headers)
            http.get("/api/v1/events", params={"api_key": presented}, headers=headers)
            response = http.get("/api/v1/events", params={"api_key": presented})
            assert presented not in response.text
    logged_server.cli("keys", "list", "--org", logged_server.org_id)
    time.sleep(0.5)  # the server writes unbuffered (PYTHONUNBUFFERED); let the last lines land
    output = logged_server.servers[0].log_path.read_text(errors="replace")
    assert '"status":201' in output and '"status":401' in output, "the access log was off"
    for presented in (key, reader, forged):
        for secret in _secret_parts(presented):
            assert secret not in output, "an API key reached the server's output"


def _text_values(api: ApiClient) -> list[tuple[str, str, str]]:
    """(table, column, value) for every text or binary value in every table."""

    async def collect(conn: Any) -> list[tuple[str, str, str]]:
        if conn.dialect == "sqlite":
            tables = [
                row[0]
                for row in await conn.fetch(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                    " AND name NOT LIKE 'sqlite_%'"
                )
            ]
        else:
            tables = [
                row[0]
                for row in await conn.fetch(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                )
            ]
        found = []
        for table in tables:
            for row in await conn.fetch(f'SELECT * FROM "{table}"'):
                for column in row.keys():  # noqa: SIM118 - sqlite3.Row iterates values
                    value = row[column]
                    if isinstance(value, bytes | bytearray | memoryview):
                        value = bytes(value).decode("latin-1")
                    if isinstance(value, str):
                        found.append((table, column, value))
        return found

    result: list[tuple[str, str, str]] = api.run(collect)
    return result


def test_api_keys_are_stored_only_as_digests(api: ApiClient) -> None:
    tenant = api.tenant("Stored")
    event = tenant.make_event()
    tc = tenant.general_admission(event["id"])
    tenant.post(
        "/api/v1/events/" + event["id"] + "/attendees",
        {"ticket_class_id": tc["id"], "contact": {"email": "kept@example.com"}},
        headers={"Idempotency-Key": "stored-1"},
    )
    tenant.post("/api/v1/contacts", {"email": "c@example.com"}, headers={"Idempotency-Key": "c1"})
    values = _text_values(api)
    assert any(table == "api_keys" for table, _, _ in values), "scanned nothing"
    leaks = [
        f"{table}.{column}"
        for table, column, value in values
        for secret in _secret_parts(tenant.key)
        if secret in value
    ]
    assert not leaks, f"the API key is stored in plain text in {leaks}"


def _raw_request(url: str, request: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_oversized_requests_are_refused_cleanly(logged_server: Cluster) -> None:
    url = logged_server.urls[0]
    key = {"X-API-KEY": logged_server.key, "Content-Type": "application/json"}
    with httpx.Client(base_url=url, timeout=30) as http:
        too_big = b'{"name": "' + b"x" * (1 << 20) + b'"}'
        _assert_error_shape(http.post("/api/v1/events", content=too_big, headers=key), 413)

        def chunked() -> Any:
            for _ in range(12):
                yield b" " * 100_000

        _assert_error_shape(http.post("/api/v1/events", content=chunked(), headers=key), 413)
        _assert_error_shape(
            http.get("/api/v1/events", headers={**key, "X-Padding": "a" * 100_000}), 431
        )
        many = [(f"X-Header-{i}", "v" * 40) for i in range(1000)]
        response = http.get("/api/v1/events", headers=[*key.items(), *many])
        _assert_error_shape(response, 431)
        _assert_error_shape(http.get("/api/v1/events", headers={"X-API-KEY": "k" * 20_000}), 431)
        assert http.get("/healthz").status_code == 200

    for target in (b"/api/v1/events/" + b"a" * 200_000, b"/api/v1/events?q=" + b"a" * 200_000):
        answer = _raw_request(
            url,
            b"GET "
            + target
            + b" HTTP/1.1\r\nHost: x\r\nX-API-KEY: "
            + logged_server.key.encode()
            + b"\r\nConnection: close\r\n\r\n",
        )
        status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0
        assert 400 <= status < 500, f"a 200 KB URL answered {answer[:200]!r}"
    with httpx.Client(base_url=url, timeout=30) as http:
        assert http.get("/healthz").status_code == 200
