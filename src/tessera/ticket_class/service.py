"""Ticket classes: create, change, soft delete. Quantities never fall below what is sold."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tessera import errors
from tessera.db import Connection, IntegrityViolation, Row
from tessera.event import repository as events
from tessera.kit import clock, money
from tessera.ticket_class import repository
from tessera.ticket_class.schemas import TicketClassCreate, TicketClassUpdate
from tessera.waitlist import triggers as waitlist

NAME_TAKEN = "A ticket class with this name already exists"


def present(row: Row | dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "event_id": row["event_id"],
        "name": row["name"],
        "description": row["description"],
        "status": row["status"],
        "currency": row["currency"],
        "cost": row["cost"],
        "free": Decimal(row["cost"]) == 0,
        "quantity_total": row["quantity_total"],
        "quantity_sold": row["quantity_sold"],
        "sales_start": clock.iso(row["sales_start"]),
        "sales_end": clock.iso(row["sales_end"]),
        "minimum_per_order": row["minimum_per_order"],
        "maximum_per_order": row["maximum_per_order"],
        "require_approval": bool(row["require_approval"]),
        "hide_on_event_page": bool(row["hide_on_event_page"]),
        "created_at": clock.iso(row["created_at"]),
        "updated_at": clock.iso(row["updated_at"]),
    }


def _instant(value: str | None, field: str) -> int | None:
    if value is None:
        return None
    try:
        return clock.parse_instant(value)
    except ValueError as exc:
        raise errors.field_error(field, str(exc)) from None


def _cost(cost: Decimal | None, free: bool | None, currency: str) -> str | None:
    if free and cost is not None and cost != 0:
        raise errors.field_error("free", "a free ticket class cannot have a cost")
    if free:
        return money.format_amount(Decimal(0), currency)
    if cost is None:
        return None
    try:
        return money.format_amount(money.parse_amount(cost, currency), currency)
    except ValueError as exc:
        raise errors.field_error("cost", str(exc)) from None


def _check_rules(values: dict[str, Any]) -> None:
    if values["minimum_per_order"] > values["maximum_per_order"]:
        raise errors.field_error("minimum_per_order", "must not exceed maximum_per_order")
    start, end = values["sales_start"], values["sales_end"]
    if start is not None and end is not None and end <= start:
        raise errors.field_error("sales_end", "must be after sales_start")


async def _event(conn: Connection, organization_id: str, event_id: str) -> Row:
    event = await events.get(conn, organization_id, event_id)
    if event is None:
        raise errors.event_not_found()
    return event


async def _insert_unique(conn: Connection, organization_id: str, values: dict[str, Any]) -> None:
    if await repository.name_taken(conn, organization_id, values["event_id"], values["name"]):
        raise errors.Conflict(NAME_TAKEN, code="ticket_class_name_taken")
    try:
        await repository.insert(conn, organization_id, values)
    except IntegrityViolation:  # a concurrent create took the name first
        raise errors.Conflict(NAME_TAKEN, code="ticket_class_name_taken") from None


async def create_ticket_class(
    conn: Connection, organization_id: str, event_id: str, body: TicketClassCreate, now: int
) -> dict[str, Any]:
    event = await _event(conn, organization_id, event_id)
    currency = event["currency"]
    if body.currency is not None and body.currency.lower() != currency:
        raise errors.field_error("currency", f"must be the event's currency ({currency})")
    values = repository.new_values(
        event_id=event_id,
        name=body.name,
        currency=currency,
        cost=_cost(body.cost, body.free, currency) or money.format_amount(Decimal(0), currency),
        now=now,
        description=body.description,
        quantity_total=body.quantity_total,
        sales_start=_instant(body.sales_start, "sales_start"),
        sales_end=_instant(body.sales_end, "sales_end"),
        minimum_per_order=body.minimum_per_order,
        maximum_per_order=body.maximum_per_order,
        require_approval=(
            bool(event["require_approval"])
            if body.require_approval is None
            else body.require_approval
        ),
        hide_on_event_page=body.hide_on_event_page,
    )
    _check_rules(values)
    await _insert_unique(conn, organization_id, values)
    return present(values)


async def change_currency(
    conn: Connection, organization_id: str, event_id: str, currency: str, now: int
) -> None:
    """Move every class of the event to ``currency``, costs written in its minor unit ("25.00"
    becomes "25" in JPY). An active class whose cost the currency cannot express (12.50 in JPY)
    refuses the change (400) rather than being silently rounded."""
    for row in await repository.list_all(conn, organization_id, event_id):
        try:
            cost = money.format_amount(money.parse_amount(row["cost"], currency), currency)
        except ValueError:
            if row["status"] == "active":
                raise errors.field_error(
                    "currency",
                    f"the ticket class {row['name']!r} costs {row['cost']}, which "
                    f"{currency.upper()} cannot express: change its cost first",
                ) from None
            cost = row["cost"]  # a deleted class sells nothing: its cost is history
        await repository.set_currency(conn, organization_id, row["id"], currency, cost, now)


async def get_ticket_class(
    conn: Connection, organization_id: str, event_id: str, class_id: str
) -> dict[str, Any]:
    await _event(conn, organization_id, event_id)
    row = await repository.get(conn, organization_id, event_id, class_id)
    if row is None:
        raise errors.ticket_class_not_found()
    return present(row)


async def list_ticket_classes(
    conn: Connection, organization_id: str, event_id: str
) -> list[dict[str, Any]]:
    await _event(conn, organization_id, event_id)
    return [present(row) for row in await repository.list_active(conn, organization_id, event_id)]


async def update_ticket_class(
    conn: Connection,
    organization_id: str,
    event_id: str,
    class_id: str,
    body: TicketClassUpdate,
    now: int,
) -> dict[str, Any]:
    """Partial change; ``quantity_total`` may not fall below ``quantity_sold`` (409)."""
    given = body.model_fields_set
    if not given:
        raise errors.BadRequest("At least one field is required", code="empty_update")
    for required in (
        "name",
        "minimum_per_order",
        "maximum_per_order",
        "require_approval",
        "hide_on_event_page",
        "quantity_total",
        "cost",
        "free",
    ):
        if required in given and getattr(body, required) is None:
            raise errors.field_error(required, "may not be null")
    await _event(conn, organization_id, event_id)
    row = await repository.get(conn, organization_id, event_id, class_id)
    if row is None or row["status"] != "active":
        raise errors.ticket_class_not_found()
    current = dict(row)
    changes: dict[str, Any] = {"updated_at": now}
    for simple in (
        "name",
        "description",
        "minimum_per_order",
        "maximum_per_order",
        "require_approval",
        "hide_on_event_page",
    ):
        if simple in given:
            changes[simple] = getattr(body, simple)
    for when in ("sales_start", "sales_end"):
        if when in given:
            changes[when] = _instant(getattr(body, when), when)
    cost = _cost(body.cost, body.free, row["currency"])
    if cost is not None:
        changes["cost"] = cost
    merged = {**current, **changes}
    _check_rules(merged)
    if (
        "name" in changes
        and changes["name"] != row["name"]
        and await repository.name_taken(
            conn, organization_id, event_id, changes["name"], except_id=class_id
        )
    ):
        raise errors.Conflict(NAME_TAKEN, code="ticket_class_name_taken")
    if (
        body.quantity_total is not None
        and body.quantity_total != row["quantity_total"]
        and not await repository.set_quantity_total(
            conn, organization_id, class_id, body.quantity_total, now
        )
    ):
        fresh = await repository.get(conn, organization_id, event_id, class_id)
        sold = fresh["quantity_sold"] if fresh else 0
        raise errors.Conflict(
            f"quantity_total cannot be lower than the {sold} tickets already sold",
            code="quantity_below_sold",
            details={"quantity_sold": sold},
        )
    if body.quantity_total is not None and (
        row["quantity_total"] != 0
        and (body.quantity_total == 0 or body.quantity_total > row["quantity_total"])
    ):
        await waitlist.seats_may_have_freed(conn, organization_id, event_id, now)
    try:
        await repository.update(conn, organization_id, class_id, changes)
    except IntegrityViolation:
        raise errors.Conflict(NAME_TAKEN, code="ticket_class_name_taken") from None
    fresh = await repository.get(conn, organization_id, event_id, class_id)
    assert fresh is not None
    return present(fresh)


async def delete_ticket_class(
    conn: Connection, organization_id: str, event_id: str, class_id: str, now: int
) -> dict[str, Any]:
    """Soft delete, refused (409) while any ticket of the class holds a seat."""
    await _event(conn, organization_id, event_id)
    row = await repository.get(conn, organization_id, event_id, class_id)
    if row is None or row["status"] != "active":
        raise errors.ticket_class_not_found()
    if not await repository.soft_delete(conn, organization_id, class_id, now):
        fresh = await repository.get(conn, organization_id, event_id, class_id)
        sold = fresh["quantity_sold"] if fresh else 0
        raise errors.Conflict(
            "Cannot delete a ticket class with sold tickets",
            code="ticket_class_has_sold_tickets",
            extra={"sold_count": sold},
        )
    return {"deleted": True, "id": class_id}
