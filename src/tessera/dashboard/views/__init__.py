"""The dashboard's routes, one module per area."""

from __future__ import annotations

from fastapi import APIRouter

from tessera.dashboard.access import DashboardRoute
from tessera.dashboard.views import account, attendees, checkin, events, manual_add, settings

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)
# manual_add before attendees: "./attendees/new" must win over "./attendees/{attendee_id}".
for area in (account, events, manual_add, attendees, checkin, settings):
    router.include_router(area.router, prefix="/dashboard")
