"""Settings (SPEC §7): environment variables and .env, each bad value named in one sentence."""

from __future__ import annotations

from pathlib import Path

import pytest

from tessera.config import ConfigError, Settings, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No TESSERA_* from the caller's shell, and no .env of the checkout."""
    import os

    for name in list(os.environ):
        if name.startswith("TESSERA_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults_are_the_documented_ones() -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite:///./tessera.db"
    assert settings.base_url == "http://127.0.0.1:8000"
    assert settings.mail_dir == Path("./mail")
    assert settings.smtp_url is None
    assert settings.mail_from == "tickets@localhost"
    assert settings.redis_url is None
    assert settings.rate_limit_per_minute == 600
    assert settings.webhook_allow_private is False
    assert settings.is_sqlite


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESSERA_DATABASE_URL", "postgresql://tessera@db.internal/tessera")
    monkeypatch.setenv("TESSERA_BASE_URL", "https://tickets.example.com/")
    monkeypatch.setenv("TESSERA_SMTP_URL", "smtps://user:pass@mail.example.com:465")
    monkeypatch.setenv("TESSERA_MAIL_DIR", "/var/mail/tessera")
    monkeypatch.setenv("TESSERA_MAIL_FROM", "tickets@example.com")
    monkeypatch.setenv("TESSERA_REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("TESSERA_RATE_LIMIT_PER_MINUTE", "0")
    monkeypatch.setenv("TESSERA_WEBHOOK_ALLOW_PRIVATE", "true")
    settings = load_settings()
    assert settings.database_url == "postgresql://tessera@db.internal/tessera"
    assert not settings.is_sqlite
    assert settings.base_url == "https://tickets.example.com"  # no trailing slash in links
    assert settings.smtp_url == "smtps://user:pass@mail.example.com:465"
    assert settings.mail_dir == Path("/var/mail/tessera")
    assert settings.mail_from == "tickets@example.com"
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.rate_limit_per_minute == 0
    assert settings.webhook_allow_private is True


def test_dotenv_file_is_read_and_the_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text(
        "TESSERA_BASE_URL=https://from-dotenv.example.com\nTESSERA_MAIL_FROM=dotenv@example.com\n"
    )
    monkeypatch.setenv("TESSERA_MAIL_FROM", "env@example.com")
    settings = load_settings()
    assert settings.base_url == "https://from-dotenv.example.com"
    assert settings.mail_from == "env@example.com"


def test_a_bad_value_in_dotenv_names_the_variable(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("TESSERA_DATABASE_URL=oracle://db\n")
    with pytest.raises(ConfigError, match="TESSERA_DATABASE_URL"):
        load_settings()


@pytest.mark.parametrize(
    "value",
    [
        "mysql://x",
        "oracle://db/tessera",
        "tessera.db",
        "sqlite://",
        "sqlite:///",
        "sqlite:///:memory:",
        "postgresql://",
        "postgresql:///tessera",
        "",
    ],
)
def test_bad_database_url(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("TESSERA_DATABASE_URL", value)
    with pytest.raises(ConfigError) as raised:
        load_settings()
    message = str(raised.value)
    assert message.startswith("TESSERA_DATABASE_URL ")
    assert "sqlite:///" in message or "postgresql://" in message  # says what a good one is


@pytest.mark.parametrize(
    "value",
    [
        "sqlite:///./tessera.db",
        "sqlite:////var/lib/tessera/tessera.db",
        "postgresql://postgres@127.0.0.1:5432/tessera",
        "postgres://postgres@127.0.0.1/tessera",
        "postgresql+asyncpg://postgres@127.0.0.1/tessera",
        "postgresql:///tessera?host=/var/run/postgresql",
    ],
)
def test_good_database_urls(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("TESSERA_DATABASE_URL", value)
    assert load_settings().database_url == value


@pytest.mark.parametrize("value", ["ftp://example.com", "example.com", "http://", "//x"])
def test_bad_base_url(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("TESSERA_BASE_URL", value)
    with pytest.raises(ConfigError, match=r"^TESSERA_BASE_URL "):
        load_settings()


@pytest.mark.parametrize("value", ["http://mail.example.com", "smtp://", "mail.example.com:25"])
def test_bad_smtp_url(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("TESSERA_SMTP_URL", value)
    with pytest.raises(ConfigError, match=r"^TESSERA_SMTP_URL "):
        load_settings()


def test_empty_smtp_url_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESSERA_SMTP_URL", "")
    assert load_settings().smtp_url is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TESSERA_REDIS_URL", "http://cache"),
        ("TESSERA_RATE_LIMIT_PER_MINUTE", "-1"),
        ("TESSERA_RATE_LIMIT_PER_MINUTE", "lots"),
        ("TESSERA_WEBHOOK_ALLOW_PRIVATE", "perhaps"),
    ],
)
def test_other_bad_values_name_their_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert str(raised.value).startswith(f"{name} is invalid")
    assert "Fix it" in str(raised.value)


def test_settings_can_be_built_in_code_without_the_environment() -> None:
    settings = Settings(database_url="sqlite:///x.db", _env_file=None)  # type: ignore[call-arg]
    assert settings.sqlite_path == "x.db"
