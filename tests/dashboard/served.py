"""A real `tessera serve` with an organization, an API key and dashboard users made by the CLI,
as an operator would (for the browser tests)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.ticket_page.served import TESSERA, ServedTessera

PASSWORD = "door-and-desk-2027"


class ServedDashboard(ServedTessera):
    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.org_id = ""
        self.users: dict[str, str] = {}

    def start(self) -> ServedDashboard:
        super().start()
        org = self.cli("orgs", "create", "Harbor Events")
        self.org_id = org["id"]
        self.key = self.cli("keys", "create", "--org", self.org_id, "--name", "browser")["key"]
        for role in ("owner", "admin", "door"):
            self.add_user(f"{role}@harbor.example", role)
        return self

    def add_user(self, email: str, role: str) -> dict[str, Any]:
        done = subprocess.run(
            [
                str(TESSERA),
                "users",
                "create",
                email,
                "--org",
                self.org_id,
                "--role",
                role,
                "--password-stdin",
                "--json",
            ],
            input=PASSWORD + "\n",
            env=self.env,
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        made: dict[str, Any] = json.loads(done.stdout)
        self.users[role] = email
        return made


def sign_in(page: Any, served: ServedDashboard, role: str = "owner", next_path: str = "") -> None:
    target = f"{served.url}/dashboard/login" + (f"?next={next_path}" if next_path else "")
    page.goto(target)
    page.fill("#email", served.users[role])
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("load")
    assert "/dashboard/login" not in page.url, page.content()[:2000]
