"""Every public page's route, as one router for the app."""

from __future__ import annotations

from fastapi import APIRouter

from tessera.public import endpoints, waitlist_views

router = APIRouter()
router.include_router(endpoints.router)
router.include_router(waitlist_views.router)
