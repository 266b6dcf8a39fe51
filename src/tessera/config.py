"""The one Settings object. Nothing else in Tessera reads ``os.environ``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConfigError(Exception):
    """A setting is unusable; the message names the variable and what to do."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TESSERA_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = "sqlite:///./tessera.db"
    base_url: str = "http://127.0.0.1:8000"
    mail_dir: Path = Path("./mail")
    smtp_url: str | None = None
    mail_from: str = "tickets@localhost"
    redis_url: str | None = None
    rate_limit_per_minute: int = Field(default=600, ge=0)
    webhook_allow_private: bool = False
    # Connections per server process to PostgreSQL. Small on purpose: the capacity row of a hot
    # ticket class is contended, and more connections only queue on it (PERFORMANCE.md).
    db_pool_size: int = Field(default=4, ge=1, le=100)
    # Deliver the outbox (emails, webhooks) inside every `tessera serve` process, on every
    # database; false leaves delivery to `tessera worker` (docs/operations.md).
    worker_in_process: bool = True
    # How often each delivering process looks for due outbox rows that no wake-up announced
    # (retries coming due; rows queued by another SQLite process).
    outbox_poll_seconds: float = Field(default=0.5, gt=0, le=60)
    # GET /metrics in the Prometheus text format (docs/operations.md).
    metrics: bool = False
    # Where prometheus_client keeps each process's figures: `tessera serve` sets it for its
    # processes (the library reads this very variable, unprefixed).
    metrics_dir: Path | None = Field(default=None, validation_alias="PROMETHEUS_MULTIPROC_DIR")
    # Log one structured line per request. Off in benchmarks to measure the API, not the logger.
    access_log: bool = True

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        scheme = urlsplit(value).scheme
        if scheme == "sqlite":
            path = value.removeprefix("sqlite:///")
            # An empty path or :memory: is a database that vanishes with its connection.
            if not value.startswith("sqlite:///") or path in ("", ":memory:"):
                raise ValueError("a SQLite URL names a file: sqlite:///./tessera.db")
            return value
        if scheme in ("postgresql", "postgres", "postgresql+asyncpg"):
            if not urlsplit(value).hostname and "host=" not in value:
                raise ValueError("a PostgreSQL URL needs a host: postgresql://user@host/dbname")
            return value
        raise ValueError(
            f"unknown scheme {scheme!r}: use sqlite:///path or postgresql://user@host/db"
        )

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http:// or https:// URL, e.g. https://tickets.example.com")
        return value.rstrip("/")

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("must look like smtp://user:pass@host:587 or smtps://host:465")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if urlsplit(value).scheme not in ("redis", "rediss", "unix"):
            raise ValueError("must look like redis://127.0.0.1:6379/0")
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:")

    @property
    def sqlite_path(self) -> str:
        return self.database_url.removeprefix("sqlite:///")


def load_settings(**overrides: object) -> Settings:
    """Read the environment (and ``.env``); turn a bad value into one sentence naming it."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(
            f"TESSERA_{field.upper()} is invalid: {message}. Fix it in the environment or .env."
        ) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
