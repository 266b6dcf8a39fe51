"""Database access: one small interface over SQLite (stdlib ``sqlite3``) and PostgreSQL (asyncpg).

Why not the ORM: a Create Attendee is a handful of statements, and PERFORMANCE.md measured the
ORM unit of work at ~510 tx/s against a 2,500 req/s goal. SQL is written once with ``$1``
placeholders (asyncpg's style); the SQLite adapter rewrites them to ``?1``.

The single commit point is :meth:`Database.run`: it opens a transaction, runs one unit of work,
commits, and retries the whole unit when the database reports a transient conflict. Services take
the connection as a parameter and never commit. A write that nothing reads back in its
transaction may be deferred (:meth:`Connection.defer`): on PostgreSQL it rides inside the
transaction's next statement, a round trip saved.

On PostgreSQL a unit of work whose reads can all come first may also run as **one statement**
(:meth:`PostgresDatabase.run_as_one_statement`): its reads run at once, outside any transaction,
and everything it writes travels in one statement that PostgreSQL commits on its own. Every write
whose effect the unit relied on is an *expectation* (:meth:`OneStatement.expect`): a part that
must return exactly so many rows, checked inside that statement, so the statement commits only
if the database still is as the reads saw it. Otherwise it raises :class:`Stale` and writes
nothing, and the caller runs its transaction instead. No ``BEGIN``, no ``COMMIT``: round trips,
and the time a contended row stays locked, are the statement's own.

The modules: ``base`` (the protocols, errors and statement counter), ``sqlite``, and for
PostgreSQL ``postgres`` (the database), ``postgres_connection`` (a transaction's connection
and its deferred writes) and ``postgres_one_statement``.
"""

from __future__ import annotations

from tessera.db.base import (
    STATEMENTS,
    Connection,
    Database,
    IntegrityViolation,
    OneStatement,
    Retry,
    Row,
    Stale,
    StatementCounter,
)
from tessera.db.postgres import PostgresDatabase
from tessera.db.sqlite import BACKSTOP_CHECKPOINT_PAGES, SqliteDatabase, open_sqlite, to_sqlite

__all__ = [
    "BACKSTOP_CHECKPOINT_PAGES",
    "STATEMENTS",
    "Connection",
    "Database",
    "IntegrityViolation",
    "OneStatement",
    "PostgresDatabase",
    "Retry",
    "Row",
    "SqliteDatabase",
    "Stale",
    "StatementCounter",
    "create_database",
    "open_sqlite",
    "to_sqlite",
]


def create_database(url: str, pool_size: int = 4) -> Database:
    if url.startswith("sqlite:"):
        return SqliteDatabase(url.removeprefix("sqlite:///"))
    return PostgresDatabase(url, pool_size=pool_size)
