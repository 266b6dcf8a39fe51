"""The ``tessera`` command. Output is stable for scripts; ``--json`` prints one JSON object.

Errors go to stderr with a non-zero exit code and a sentence that says what to do next.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import shlex
import sqlite3
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import click

from tessera import migrate
from tessera.auth import scopes as scope_rules
from tessera.auth import service as auth
from tessera.config import ConfigError, Settings, load_settings
from tessera.db import Connection, create_database
from tessera.errors import AppError
from tessera.kit.clock import system_clock

T = TypeVar("T")


def settings_or_exit() -> Settings:
    """The settings, or the one-sentence configuration error as the command's failure (the
    command groups of other packages, such as ``tessera attendees``, use it too)."""
    try:
        return load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def redacted(url: str) -> str:
    """The database URL without its password, for messages that end up in logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{netloc}"))


def _run(settings: Settings, work: Callable[[Connection], Awaitable[T]]) -> T:
    async def main() -> T:
        db = create_database(settings.database_url, pool_size=1)
        await db.connect()
        try:
            return await db.run(work)
        finally:
            await db.close()

    where = redacted(settings.database_url)
    try:
        return asyncio.run(main())
    except AppError as exc:
        if exc.status == 503:
            raise click.ClickException(
                f"cannot reach the database at {where}: check "
                "TESSERA_DATABASE_URL, that the server runs, and run `tessera db upgrade`."
            ) from None
        raise click.ClickException(exc.message) from None
    except asyncpg.UndefinedTableError:
        raise click.ClickException(
            f"the database at {where} has no Tessera tables yet: run `tessera db upgrade`."
        ) from None
    # A file SQLite cannot open, a server that refuses us: a sentence, never a traceback.
    except (sqlite3.Error, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise click.ClickException(
            f"cannot use the database at {where} ({exc}): check TESSERA_DATABASE_URL, that the "
            "database server runs, and run `tessera db upgrade`."
        ) from None


def _ensure_migrated(settings: Settings) -> None:
    try:
        migrate.upgrade(settings.database_url)
    except Exception as exc:
        raise click.ClickException(
            f"could not migrate the database at {redacted(settings.database_url)}: {exc}. "
            "Check TESSERA_DATABASE_URL and that the database server is running."
        ) from None


def _emit(value: dict[str, Any], as_json: bool, lines: list[str]) -> None:
    if as_json:
        click.echo(json.dumps(value))
    else:
        for line in lines:
            click.echo(line)


@click.group()
@click.version_option(package_name="tessera")
def main() -> None:
    """Tessera: a self-hostable event-ticketing server (Gomry v1 compatible API)."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Server processes sharing the port.",
)
def serve(host: str, port: int, workers: int) -> None:
    """Run the API and the ticket page (migrating the database first); SIGTERM drains."""
    from tessera import serve as serving

    settings = settings_or_exit()
    _ensure_migrated(settings)
    click.echo(
        f"Tessera listening on http://{host}:{port} (database: {redacted(settings.database_url)})",
        err=True,
    )
    try:
        code = serving.serve(host, port, workers, metrics=settings.metrics)
    except OSError as exc:  # the port is taken, or not ours to bind
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from None
    sys.exit(code)


def server_options(host: str, port: int, workers: int) -> dict[str, Any]:
    """How ``tessera serve`` runs uvicorn (tessera.serve.worker), for one process."""
    from tessera.serve.worker import server_options as options

    return {**options(), "host": host, "port": port, "workers": workers}


@main.command()
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
def worker(once: bool) -> None:
    """Deliver queued emails and webhooks (the outbox) as its own process."""
    import logging
    import signal

    from tessera.outbox.handlers import build_handlers
    from tessera.outbox.in_process import delivering
    from tessera.outbox.worker import OutboxWorker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = settings_or_exit()

    async def main() -> None:
        database = create_database(settings.database_url, pool_size=2)
        await database.connect()
        outbox = OutboxWorker(
            database,
            build_handlers(settings, database),
            poll_seconds=settings.outbox_poll_seconds,
        )
        try:
            if once:
                delivered = await outbox.drain()
                click.echo(f"attempted {delivered} deliveries", err=True)
                return
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, stop.set)
            click.echo("Tessera worker delivering the outbox (Ctrl-C stops it)", err=True)
            # SIGTERM/SIGINT: stop claiming, finish the deliveries in flight, exit.
            async with delivering(outbox, settings.database_url, deliver=True):
                await stop.wait()
        finally:
            await database.close()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations."""
    settings = settings_or_exit()
    _ensure_migrated(settings)
    click.echo(
        f"database at {redacted(settings.database_url)} is at migration {migrate.head_revision()}"
    )


@main.group()
def orgs() -> None:
    """Organizations."""


@orgs.command("create")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def orgs_create(name: str, as_json: bool) -> None:
    """Create an organization."""
    if not name.strip():
        raise click.BadParameter("give the organization a name", param_hint="NAME")
    settings = settings_or_exit()
    org = _run(settings, lambda conn: auth.create_organization(conn, name.strip(), system_clock()))
    _emit(org, as_json, [f"created organization {org['id']} ({org['name']})"])


@main.group()
def keys() -> None:
    """API keys."""


@keys.command("create")
@click.option("--org", "org_id", required=True, help="Organization ID (org_…).")
@click.option("--name", required=True, help="A label, e.g. the integration using the key.")
@click.option(
    "--scopes",
    "scope_list",
    default=None,
    help="Comma-separated resource:level, e.g. attendees:write,events:read. "
    "Default: every resource at write.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def keys_create(org_id: str, name: str, scope_list: str | None, as_json: bool) -> None:
    """Create an API key; the key is printed once and never again."""
    try:
        key_scopes = (
            scope_rules.all_write()
            if scope_list is None
            else scope_rules.parse_scope_list(scope_list)
        )
    except scope_rules.ScopeError as exc:
        raise click.BadParameter(str(exc), param_hint="--scopes") from None
    settings = settings_or_exit()
    created = _run(
        settings,
        lambda conn: auth.create_api_key(conn, org_id, name, key_scopes, system_clock()),
    )
    granted = ",".join(f"{r}:{lvl}" for r, lvl in key_scopes.items() if lvl != "none") or "none"
    _emit(
        created,
        as_json,
        [
            f"created API key {created['id']} for {org_id} ({granted})",
            f"key: {created['key']}",
            "Store it now: Tessera keeps only its hash and cannot show it again.",
        ],
    )


@keys.command("revoke")
@click.argument("key_id")
@click.option("--json", "as_json", is_flag=True)
def keys_revoke(key_id: str, as_json: bool) -> None:
    """Revoke an API key at once."""
    settings = settings_or_exit()
    revoked = _run(settings, lambda conn: auth.revoke_api_key(conn, key_id, system_clock()))
    _emit(revoked, as_json, [f"revoked API key {key_id}"])


@keys.command("list")
@click.option("--org", "org_id", required=True)
@click.option("--json", "as_json", is_flag=True)
def keys_list(org_id: str, as_json: bool) -> None:
    """List an organization's keys (never the keys themselves)."""
    settings = settings_or_exit()
    listed = _run(settings, lambda conn: auth.list_api_keys(conn, org_id))
    lines = [
        f"{k['id']}  {k['prefix']:<18} {'revoked' if k['revoked_at'] else 'active ':<8} {k['name']}"
        for k in listed
    ] or ["no API keys"]
    _emit({"data": listed}, as_json, lines)


@main.command()
def demo() -> None:
    """Create an organization, an event, a key and a dashboard owner; print how to use them."""
    from tessera.account import passwords
    from tessera.account import service as accounts
    from tessera.event import service as events
    from tessera.event.schemas import EventCreate

    settings = settings_or_exit()
    _ensure_migrated(settings)
    # A fresh owner per run: `tessera demo` may run twice against one database.
    owner_email = f"owner-{secrets.token_hex(3)}@demo.example"
    owner_password = passwords.generate()
    owner_hash = passwords.hash_password(owner_password)

    async def make(conn: Connection) -> dict[str, Any]:
        now = system_clock()
        org = await auth.create_organization(conn, "Demo Organization", now)
        key = await auth.create_api_key(conn, org["id"], "demo", scope_rules.all_write(), now)
        event = await events.create_event(
            conn,
            org["id"],
            EventCreate.model_validate(
                {
                    "name": "Demo Conference",
                    "start": {"utc": "2027-07-15T18:00", "timezone": "America/New_York"},
                    "end": {"utc": "2027-07-15T22:00", "timezone": "America/New_York"},
                    "location": "Main Hall",
                    "capacity": 100,
                }
            ),
            now,
        )
        rows = await conn.fetch("SELECT id FROM ticket_classes WHERE event_id = $1", event["id"])
        owner = await accounts.add_member(
            conn, org["id"], owner_email, "owner", owner_hash, now, name="Demo Owner"
        )
        return {
            "org": org,
            "key": key,
            "event": event,
            "ticket_class_id": rows[0]["id"],
            "owner": owner,
        }

    made = _run(settings, make)
    body = json.dumps(
        {
            "ticket_class_id": made["ticket_class_id"],
            "contact": {"email": "jane@example.com", "first_name": "Jane", "last_name": "Doe"},
            "quantity": 2,
            "send_email": False,
        }
    )
    url = f"{settings.base_url}/api/v1/events/{made['event']['id']}/attendees"
    click.echo(f"organization: {made['org']['id']}")
    click.echo(f"API key:      {made['key']['key']}")
    click.echo(f"event:        {made['event']['id']} ({made['event']['name']})")
    click.echo("")
    click.echo("With `tessera serve` running, create two tickets:")
    click.echo(
        f"curl -X POST -H {shlex.quote('X-API-KEY: ' + made['key']['key'])} "
        "-H 'Content-Type: application/json' "
        # A literal key, not $(uuidgen): the command must run on machines without uuidgen, and
        # running it twice shows the replay instead of creating two more tickets.
        f"-H 'Idempotency-Key: demo-{secrets.token_hex(8)}' "
        f"-d {shlex.quote(body)} {url}"
    )
    click.echo("")
    click.echo(f"Or sign in to the dashboard at {settings.base_url}/dashboard/login")
    click.echo(f"  email:    {owner_email}")
    click.echo(f"  password: {owner_password}")


# Dashboard users (SPEC §8) ------------------------------------------------------------------


@main.group()
def users() -> None:
    """Dashboard users and their roles."""


def _read_password(from_stdin: bool) -> tuple[str, bool]:
    """The password from stdin (one line), or a generated one-time password."""
    from tessera.account import passwords

    if not from_stdin:
        return passwords.generate(), True
    password = sys.stdin.readline().rstrip("\r\n")
    problem = passwords.problem(password)
    if problem is not None:
        raise click.ClickException(f"the password on stdin {problem}: send another one.")
    return password, False


def _user_email(email: str) -> str:
    from tessera.contact.schemas import normalize_email

    try:
        return normalize_email(email)
    except ValueError as exc:
        raise click.ClickException(f"{email!r} {exc}: give the person's email address.") from None


@users.command("create")
@click.argument("email")
@click.option("--org", "org_id", required=True, help="Organization ID (org_…).")
@click.option(
    "--role",
    type=click.Choice(["owner", "admin", "door"]),
    default="owner",
    show_default=True,
    help="owner: everything; admin: all but the team; door: check-in and search.",
)
@click.option("--name", default=None, help="The person's name, shown in the dashboard.")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def users_create(
    email: str, org_id: str, role: str, name: str | None, password_stdin: bool, as_json: bool
) -> None:
    """Add EMAIL to an organization's team; prints a one-time password for a new user."""
    from tessera.account import passwords
    from tessera.account import service as accounts

    settings = settings_or_exit()
    email = _user_email(email)
    password, generated = _read_password(password_stdin)
    password_hash = passwords.hash_password(password)
    made = _run(
        settings,
        lambda conn: accounts.add_member(
            conn, org_id, email, role, password_hash, system_clock(), name=name
        ),
    )
    if generated and made["created"]:
        made["password"] = password
    lines = [f"{made['email']} is {made['role']} of {org_id} (user {made['id']})"]
    if "password" in made:
        lines.append(f"one-time password: {password}  (change it after signing in)")
    elif not made["created"]:
        lines.append("existing user: their password is unchanged")
    lines.append(f"sign in at {settings.base_url}/dashboard/login")
    _emit(made, as_json, lines)


@users.command("list")
@click.option("--org", "org_id", required=True)
@click.option("--json", "as_json", is_flag=True)
def users_list(org_id: str, as_json: bool) -> None:
    """List an organization's team."""
    from tessera.account import service as accounts

    settings = settings_or_exit()
    listed = _run(settings, lambda conn: accounts.team(conn, org_id))
    lines = [f"{u['id']}  {u['role']:<6} {u['email']}" for u in listed] or ["no users"]
    _emit({"data": listed}, as_json, lines)


@users.command("set-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the new password from stdin.")
@click.option("--json", "as_json", is_flag=True)
def users_set_password(email: str, password_stdin: bool, as_json: bool) -> None:
    """Set a user's password (printed once unless read from stdin); ends their sessions."""
    from tessera.account import passwords
    from tessera.account import service as accounts

    settings = settings_or_exit()
    password, generated = _read_password(password_stdin)
    password_hash = passwords.hash_password(password)
    done = _run(
        settings,
        lambda conn: accounts.set_password(conn, email, password_hash, system_clock()),
    )
    if generated:
        done["password"] = password
    lines = [f"password of {done['email']} changed; their sessions are signed out"]
    if generated:
        lines.append(f"one-time password: {password}")
    _emit(done, as_json, lines)


# SPEC §10: tessera attendees export|import
from tessera.attendee_io.cli import attendees as _attendees  # noqa: E402

main.add_command(_attendees)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
