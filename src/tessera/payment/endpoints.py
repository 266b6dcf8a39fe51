"""HTTP endpoints of /api/v1/payments."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/payments", tags=["payments"])
