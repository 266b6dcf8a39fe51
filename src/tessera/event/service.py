"""Events: creation (with the automatic "General Admission" class), listing and changes."""

from __future__ import annotations

from typing import Any

from tessera import errors
from tessera.db import Connection, Row
from tessera.event import repository
from tessera.event.schemas import EventCreate, EventTimeIn, EventUpdate, VenueIn
from tessera.kit import clock, ids, money
from tessera.kit.pagination import Page, envelope
from tessera.kit.timezones import to_utc_micros
from tessera.ticket_class import repository as ticket_classes
from tessera.ticket_class import service as ticket_class_service
from tessera.waitlist import triggers as waitlist
from tessera.webhook.emit import emit

GENERAL_ADMISSION = "General Admission"


def present(row: Row) -> dict[str, Any]:
    end = None
    if row["end_at"] is not None:
        end = {"utc": clock.iso(row["end_at"]), "timezone": row["end_timezone"]}
    return {
        "id": row["id"],
        "name": row["name"],
        "description": row["description"],
        "status": row["status"],
        "registration_status": row["registration_status"],
        "currency": row["currency"],
        "capacity": row["capacity"],
        "tickets_sold": row["tickets_sold"],
        "start": {"utc": clock.iso(row["start_at"]), "timezone": row["start_timezone"]},
        "end": end,
        "venue": {
            "name": row["venue_name"],
            "address": row["venue_address"],
            "city": row["venue_city"],
            "state": row["venue_state"],
            "country": row["venue_country"],
        },
        "virtual_url": row["virtual_url"],
        "hidden": bool(row["hidden"]),
        "require_approval": bool(row["require_approval"]),
        "created_at": clock.iso(row["created_at"]),
        "updated_at": clock.iso(row["updated_at"]),
    }


def _instant(value: EventTimeIn, field: str) -> int:
    try:
        return to_utc_micros(value.utc, value.timezone)
    except ValueError as exc:
        raise errors.field_error(f"{field}.utc", str(exc)) from None


def _location_columns(location: str | VenueIn) -> dict[str, Any]:
    columns: dict[str, Any] = dict.fromkeys(
        ("venue_name", "venue_address", "venue_city", "venue_state", "venue_country", "virtual_url")
    )
    if isinstance(location, VenueIn):
        columns.update(
            venue_name=location.name,
            venue_address=location.address,
            venue_city=location.city,
            venue_state=location.state,
            venue_country=location.country,
        )
    elif location.lower().startswith("https://"):
        columns["virtual_url"] = location
    else:
        columns["venue_name"] = location
    return columns


def _check_window(start_at: int, end_at: int | None) -> None:
    if end_at is not None and end_at <= start_at:
        raise errors.field_error("end.utc", "must be after start")


def _check_same_zone(start_timezone: str, end_timezone: str | None) -> None:
    if end_timezone is not None and end_timezone != start_timezone:
        raise errors.field_error("end.timezone", "must be the same timezone as start")


async def create_event(
    conn: Connection, organization_id: str, body: EventCreate, now: int
) -> dict[str, Any]:
    """Create an event and its "General Admission" class priced at ``ticket_price``."""
    _check_same_zone(body.start.timezone, body.end.timezone if body.end else None)
    start_at = _instant(body.start, "start")
    end_at = _instant(body.end, "end") if body.end else None
    _check_window(start_at, end_at)
    try:
        price = money.parse_amount(body.ticket_price, body.currency)
    except ValueError as exc:
        raise errors.field_error("ticket_price", str(exc)) from None
    values: dict[str, Any] = {
        "id": ids.event_id(),
        "name": body.name,
        "description": body.description,
        "status": "active",
        "registration_status": "open",
        "currency": body.currency,
        "capacity": body.capacity,
        "tickets_sold": 0,
        "start_at": start_at,
        "start_timezone": body.start.timezone,
        "end_at": end_at,
        "end_timezone": body.end.timezone if body.end else None,
        "hidden": body.hidden,
        "require_approval": body.require_approval,
        "created_at": now,
        "updated_at": now,
        **_location_columns(body.location),
    }
    await repository.insert(conn, organization_id, values)
    await ticket_classes.insert(
        conn,
        organization_id,
        ticket_classes.new_values(
            event_id=values["id"],
            name=GENERAL_ADMISSION,
            currency=body.currency,
            cost=money.format_amount(price, body.currency),
            require_approval=body.require_approval,
            now=now,
        ),
    )
    event = present(values)
    await emit(conn, organization_id, [("event.created", event["id"], event)], now)
    return event


async def get_event(conn: Connection, organization_id: str, event_id: str) -> dict[str, Any]:
    row = await repository.get(conn, organization_id, event_id)
    if row is None:
        raise errors.event_not_found()
    return present(row)


async def list_events(
    conn: Connection, organization_id: str, statuses: list[str], page: Page
) -> dict[str, Any]:
    rows, total = await repository.list_page(
        conn, organization_id, statuses, page.page_size, page.offset
    )
    return envelope([present(row) for row in rows], total, page)


async def update_event(
    conn: Connection, organization_id: str, event_id: str, body: EventUpdate, now: int
) -> dict[str, Any]:
    """Apply a partial change. Capacity may not drop below the seats already taken (409)."""
    given = body.model_fields_set
    if not given:
        raise errors.BadRequest("At least one field is required", code="empty_update")
    for required in (
        "name",
        "start",
        "location",
        "currency",
        "status",
        "registration_status",
        "require_approval",
        "hidden",
        "capacity",
    ):
        if required in given and getattr(body, required) is None:
            raise errors.field_error(required, "may not be null")
    row = await repository.get(conn, organization_id, event_id, lock=True)
    if row is None:
        raise errors.event_not_found()

    values: dict[str, Any] = {"updated_at": now}
    for simple in (
        "name",
        "description",
        "status",
        "registration_status",
        "currency",
        "require_approval",
        "hidden",
    ):
        if simple in given:
            values[simple] = getattr(body, simple)
    start_at, start_tz = row["start_at"], row["start_timezone"]
    if body.start is not None:
        start_at, start_tz = _instant(body.start, "start"), body.start.timezone
        values.update(start_at=start_at, start_timezone=start_tz)
    end_at, end_tz = row["end_at"], row["end_timezone"]
    if "end" in given:
        if body.end is None:
            end_at, end_tz = None, None
        else:
            end_at, end_tz = _instant(body.end, "end"), body.end.timezone
        values.update(end_at=end_at, end_timezone=end_tz)
    _check_same_zone(start_tz, end_tz)
    _check_window(start_at, end_at)
    if body.location is not None:
        values.update(_location_columns(body.location))
    if "currency" in given and body.currency != row["currency"]:
        await ticket_class_service.change_currency(
            conn, organization_id, event_id, body.currency or "", now
        )

    if (
        body.capacity is not None
        and body.capacity != row["capacity"]
        and not await repository.set_capacity(conn, organization_id, event_id, body.capacity, now)
    ):
        fresh = await repository.get(conn, organization_id, event_id)
        taken = fresh["tickets_sold"] if fresh else 0
        raise errors.Conflict(
            f"Capacity cannot be lower than the {taken} seats already taken",
            code="capacity_below_sold",
            details={"tickets_sold": taken},
        )
    if body.capacity is not None and _raised(row["capacity"], body.capacity):
        await waitlist.seats_may_have_freed(conn, organization_id, event_id, now)
    await repository.update(conn, organization_id, event_id, values)
    fresh = await repository.get(conn, organization_id, event_id)
    assert fresh is not None
    event = present(fresh)
    await emit(conn, organization_id, [("event.updated", event_id, event)], now)
    return event


def _raised(before: int, after: int) -> bool:
    """Whether a capacity change (0 = unlimited) adds seats."""
    return before != 0 and (after == 0 or after > before)
