"""The organizer dashboard (SPEC §8): server-rendered pages under ``/dashboard``.

Views per area live in :mod:`tessera.dashboard.views`; they parse a form, check the viewer's
role, call the domain services (the same ones the API calls) and render a template. No SQL here.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from tessera.dashboard.views import router


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.mount(
        "/dashboard/static",
        StaticFiles(packages=[("tessera.dashboard", "static")]),
        name="dashboard-static",
    )
