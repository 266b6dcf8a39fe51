"""The SMTP transport against real servers: STARTTLS when offered, implicit TLS for smtps://, and
login with the credentials of TESSERA_SMTP_URL (URL-decoded)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from tessera.email import compose
from tessera.email.transport import smtp_sender
from tessera.outbox.worker import DeliveryError
from tessera.ticket_page.service import EventView
from tests.email.smtp import SmtpServer, self_signed_certificate, server_tls_context

# "tickets@example.com" / "s3cr:t/pw", URL-encoded as an operator writes them.
CREDENTIALS = "tickets%40example.com:s3cr%3At%2Fpw"


def message() -> EmailMessage:
    envelope = compose.Envelope(
        sender="Tessera <tickets@example.com>",
        recipient_email="ada@example.com",
        recipient_name="Ada Byron",
        outbox_id=41,
        queued_at=1_800_000_000_000_000,
    )
    return compose.build(
        envelope,
        "status",
        {
            "subject": "Your ticket for Test is approved",
            "news": "Approved.",
            "greeting": "Ada",
            "organization_name": "Acme",
            "custom_message": "",
            "page_url": "http://127.0.0.1:8000/t/pay_x",
            "event": EventView(
                id="evt",
                name="Test",
                starts_at=datetime(2027, 7, 15, 22, tzinfo=UTC),
                ends_at=None,
                timezone="America/New_York",
                when_lines=("Thursday 15 July 2027", "18:00 EDT"),
                place="Main Hall",
                online_url=None,
            ),
        },
    )


@pytest.fixture
def certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    cert, key = self_signed_certificate(tmp_path)
    # The client verifies the server's certificate against the default trust store, which
    # OpenSSL reads from SSL_CERT_FILE: trust this test certificate and nothing else.
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    return cert, key


@pytest.fixture
def starttls_server(certificate: tuple[Path, Path]) -> Iterator[SmtpServer]:
    server = SmtpServer(
        require_login=True, tls_context=server_tls_context(*certificate), require_starttls=True
    )
    try:
        yield server.start()
    finally:
        server.stop()


def test_starttls_when_offered_then_login(starttls_server: SmtpServer) -> None:
    url = f"smtp://{CREDENTIALS}@127.0.0.1:{starttls_server.port}"
    asyncio.run(smtp_sender(url)(message(), 41))
    (received,) = starttls_server.received
    assert received.over_tls
    assert received.login == "tickets@example.com"
    assert received.rcpt_tos == ["ada@example.com"]
    assert received.message["Message-ID"] == "<outbox.41.1800000000000000@example.com>"


def test_wrong_password_is_a_retry_and_never_shows_the_password(
    starttls_server: SmtpServer,
) -> None:
    url = f"smtp://tickets%40example.com:wrong-pw@127.0.0.1:{starttls_server.port}"
    with pytest.raises(DeliveryError) as failure:
        asyncio.run(smtp_sender(url)(message(), 41))
    assert not failure.value.permanent
    assert "wrong-pw" not in str(failure.value)
    # Refused once per mechanism the server offers (PLAIN, then LOGIN); never accepted.
    assert set(starttls_server.logins) == {("tickets@example.com", "wrong-pw")}
    assert starttls_server.received == []


def test_smtps_is_tls_from_the_first_byte(certificate: tuple[Path, Path]) -> None:
    server = SmtpServer(ssl_context=server_tls_context(*certificate)).start()
    try:
        asyncio.run(smtp_sender(f"smtps://127.0.0.1:{server.port}")(message(), 41))
    finally:
        server.stop()
    (received,) = server.received
    assert received.over_tls
    assert received.message["Subject"] == "Your ticket for Test is approved"
