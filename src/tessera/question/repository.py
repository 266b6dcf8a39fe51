"""SQL for questions. Every query starts from the organization."""

from __future__ import annotations

from typing import Any

from tessera.db import Connection, Row

_COLUMNS = (
    "id, event_id, label, label_key, type, options, required, ticket_class_ids, position,"
    " deleted_at, created_at, updated_at"
)
_ORDER = " ORDER BY position, created_at, id"


async def live(conn: Connection, organization_id: str, event_id: str) -> list[Row]:
    """The event's questions (not deleted), in their order."""
    return await conn.fetch(
        f"SELECT {_COLUMNS} FROM questions WHERE organization_id = $1 AND event_id = $2"
        f" AND deleted_at IS NULL{_ORDER}",
        organization_id,
        event_id,
    )


async def for_export(conn: Connection, organization_id: str, event_id: str) -> list[Row]:
    """Live questions, then deleted ones that have answers to show (SPEC §10: deleting a
    question keeps its answers in exports). The ``LIKE`` looks for the question's ID as a key
    of the tickets' answers; IDs use a fixed alphabet, so nothing in them needs escaping."""
    return await conn.fetch(
        f"SELECT {_COLUMNS} FROM questions q WHERE organization_id = $1 AND event_id = $2"
        " AND (deleted_at IS NULL OR EXISTS (SELECT 1 FROM tickets t WHERE t.event_id = $2"
        " AND t.answers LIKE '%\"' || q.id || '\"%'))"
        " ORDER BY deleted_at IS NOT NULL, position, created_at, id",
        organization_id,
        event_id,
    )


async def get(
    conn: Connection, organization_id: str, event_id: str, question_id: str
) -> Row | None:
    return await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM questions WHERE organization_id = $1 AND event_id = $2"
        " AND id = $3 AND deleted_at IS NULL",
        organization_id,
        event_id,
        question_id,
    )


async def label_taken(
    conn: Connection, organization_id: str, event_id: str, label_key: str, except_id: str = ""
) -> bool:
    row = await conn.fetchrow(
        "SELECT 1 FROM questions WHERE organization_id = $1 AND event_id = $2"
        " AND label_key = $3 AND deleted_at IS NULL AND id <> $4",
        organization_id,
        event_id,
        label_key,
        except_id,
    )
    return row is not None


async def next_position(conn: Connection, organization_id: str, event_id: str) -> int:
    value = await conn.fetchval(
        "SELECT coalesce(max(position) + 1, 0) FROM questions"
        " WHERE organization_id = $1 AND event_id = $2 AND deleted_at IS NULL",
        organization_id,
        event_id,
    )
    return int(value)


async def count_live(conn: Connection, organization_id: str, event_id: str) -> int:
    value = await conn.fetchval(
        "SELECT count(*) FROM questions WHERE organization_id = $1 AND event_id = $2"
        " AND deleted_at IS NULL",
        organization_id,
        event_id,
    )
    return int(value)


async def insert(conn: Connection, organization_id: str, values: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO questions (id, organization_id, event_id, label, label_key, type, options,"
        " required, ticket_class_ids, position, deleted_at, created_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, $11, $11)",
        values["id"],
        organization_id,
        values["event_id"],
        values["label"],
        values["label_key"],
        values["type"],
        values["options"],
        values["required"],
        values["ticket_class_ids"],
        values["position"],
        values["created_at"],
    )


async def update(
    conn: Connection, organization_id: str, question_id: str, values: dict[str, Any]
) -> None:
    await conn.execute(
        "UPDATE questions SET label = $3, label_key = $4, options = $5, required = $6,"
        " ticket_class_ids = $7, position = $8, updated_at = $9"
        " WHERE organization_id = $1 AND id = $2",
        organization_id,
        question_id,
        values["label"],
        values["label_key"],
        values["options"],
        values["required"],
        values["ticket_class_ids"],
        values["position"],
        values["updated_at"],
    )


async def soft_delete(conn: Connection, organization_id: str, question_id: str, now: int) -> bool:
    changed = await conn.execute(
        "UPDATE questions SET deleted_at = $3, updated_at = $3"
        " WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL",
        organization_id,
        question_id,
        now,
    )
    return changed == 1


async def class_ids_of_event(conn: Connection, organization_id: str, event_id: str) -> set[str]:
    rows = await conn.fetch(
        "SELECT id FROM ticket_classes WHERE organization_id = $1 AND event_id = $2",
        organization_id,
        event_id,
    )
    return {row["id"] for row in rows}
