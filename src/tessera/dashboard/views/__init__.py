"""The dashboard's routes, one module per area."""

from __future__ import annotations

from fastapi import APIRouter

from tessera.dashboard.access import DashboardRoute
from tessera.dashboard.views import (
    account,
    attendees,
    checkin,
    data_io,
    events,
    manual_add,
    settings,
    waitlist,
)

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)
# manual_add and data_io before attendees: "./attendees/new", "./attendees/export" and
# "./attendees/import" must win over "./attendees/{attendee_id}".
for area in (account, events, manual_add, data_io, attendees, checkin, settings, waitlist):
    router.include_router(area.router, prefix="/dashboard")
