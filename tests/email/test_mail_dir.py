"""Without TESSERA_SMTP_URL, emails become ``{outbox_id}.eml`` files in TESSERA_MAIL_DIR (SPEC §5,
§7): the default on a fresh machine."""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage
from pathlib import Path

from tessera.config import Settings
from tessera.email.transport import write_atomically
from tests.email.support import calendar_attachment, html_part, outbox_rows, text_part
from tests.support import ApiClient, FakeClock


def read_eml(path: Path) -> EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_confirmation_is_written_as_an_eml_file(api: ApiClient, settings: Settings) -> None:
    assert settings.smtp_url is None
    assert not settings.mail_dir.exists()  # created on the first email
    acme = api.tenant()
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    created = acme.make_attendees(event["id"], ga["id"], quantity=2, send_email=True).json()

    assert api.deliver_outbox() == 1
    (row,) = outbox_rows(api)
    assert row["status"] == "delivered"
    assert sorted(p.name for p in settings.mail_dir.iterdir()) == [f"{row['id']}.eml"]
    message = read_eml(settings.mail_dir / f"{row['id']}.eml")
    assert message["To"] == "Jane Doe <jane@example.com>"
    assert message["From"] == "tickets@localhost"
    assert message["Subject"] == "Your tickets for Summer Conference"
    link = f"{settings.base_url}/t/{created['payment_id']}"
    assert link in text_part(message)
    assert link in html_part(message)
    assert calendar_attachment(message)[0] == "event.ics"


def test_an_unwritable_mail_folder_is_retried(
    api: ApiClient, settings: Settings, clock: FakeClock
) -> None:
    settings.mail_dir.parent.mkdir(parents=True, exist_ok=True)
    settings.mail_dir.write_text("a file where the folder should be")
    acme = api.tenant()
    event = acme.make_event()
    ga = acme.general_admission(event["id"])
    acme.make_attendees(event["id"], ga["id"], send_email=True)

    assert api.deliver_outbox() == 1
    (row,) = outbox_rows(api)
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert row["last_error"]

    settings.mail_dir.unlink()
    clock.advance(seconds=60)
    assert api.deliver_outbox() == 1
    (row,) = outbox_rows(api)
    assert (row["status"], row["attempts"]) == ("delivered", 2)
    assert [p.name for p in settings.mail_dir.iterdir()] == [f"{row['id']}.eml"]


def test_writing_replaces_the_file_whole_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    folder = tmp_path / "deep" / "mail"
    write_atomically(folder, "7.eml", b"first")
    write_atomically(folder, "7.eml", b"second delivery of the same row")
    assert [p.name for p in folder.iterdir()] == ["7.eml"]
    assert (folder / "7.eml").read_bytes() == b"second delivery of the same row"
