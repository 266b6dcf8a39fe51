"""HTTP endpoints of /api/v1/events/{eventId}/attendees."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/events/{event_id}", tags=["attendees"])
