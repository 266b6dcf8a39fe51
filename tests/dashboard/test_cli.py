"""`tessera users …` and the dashboard half of `tessera demo`, run as real processes."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from tests.dashboard.conftest import CSRF_INPUT
from tests.test_cli import TESSERA, app_client, environment, migrated, ok, refused, sqlite_url

__all__ = ["migrated", "sqlite_url"]  # fixtures


def run(
    *args: str, url: str, cwd: Path, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TESSERA, *args],
        env=environment(url),
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def can_sign_in(url: str, tmp_path: Path, email: str, password: str) -> bool:
    with app_client(url, tmp_path) as client:
        form = client.get("/dashboard/login")
        token = CSRF_INPUT.search(form.text)
        assert token
        response = client.post(
            "/dashboard/login",
            data={"csrf_token": token.group(1), "email": email, "password": password},
            follow_redirects=False,
        )
        return response.status_code == 303


def test_users_create_list_and_set_password(migrated: str, tmp_path: Path) -> None:
    org = json.loads(ok(run("orgs", "create", "Acme", "--json", url=migrated, cwd=tmp_path)))
    out = ok(
        run("users", "create", "Ann@Example.com", "--org", org["id"], url=migrated, cwd=tmp_path)
    )
    password = re.search(r"one-time password: (\S+)", out)
    assert password and "is owner of" in out and "/dashboard/login" in out
    assert can_sign_in(migrated, tmp_path, "ann@example.com", password.group(1))

    made = json.loads(
        ok(
            run(
                "users",
                "create",
                "door@example.com",
                "--org",
                org["id"],
                "--role",
                "door",
                "--password-stdin",
                "--json",
                url=migrated,
                cwd=tmp_path,
                stdin="a door password\n",
            )
        )
    )
    assert made["role"] == "door" and made["id"].startswith("usr_") and "password" not in made
    assert can_sign_in(migrated, tmp_path, "door@example.com", "a door password")

    listed = json.loads(
        ok(run("users", "list", "--org", org["id"], "--json", url=migrated, cwd=tmp_path))
    )
    assert [(u["email"], u["role"]) for u in listed["data"]] == [
        ("ann@example.com", "owner"),
        ("door@example.com", "door"),
    ]
    assert "password" not in json.dumps(listed)

    ok(
        run(
            "users",
            "set-password",
            "door@example.com",
            "--password-stdin",
            url=migrated,
            cwd=tmp_path,
            stdin="another door password\n",
        )
    )
    assert not can_sign_in(migrated, tmp_path, "door@example.com", "a door password")
    assert can_sign_in(migrated, tmp_path, "door@example.com", "another door password")
    reset = ok(run("users", "set-password", "door@example.com", url=migrated, cwd=tmp_path))
    assert "one-time password: " in reset


def test_users_errors_are_sentences(migrated: str, tmp_path: Path) -> None:
    org = json.loads(ok(run("orgs", "create", "Acme", "--json", url=migrated, cwd=tmp_path)))
    assert "not found" in refused(
        run("users", "create", "a@example.com", "--org", "org_nope", url=migrated, cwd=tmp_path)
    )
    refused(
        run(
            "users",
            "create",
            "a@example.com",
            "--org",
            org["id"],
            "--role",
            "boss",
            url=migrated,
            cwd=tmp_path,
        )
    )
    assert "at least 8" in refused(
        run(
            "users",
            "create",
            "a@example.com",
            "--org",
            org["id"],
            "--password-stdin",
            url=migrated,
            cwd=tmp_path,
            stdin="short\n",
        )
    )
    assert "valid email" in refused(
        run("users", "create", "nope", "--org", org["id"], url=migrated, cwd=tmp_path)
    )
    assert "User not found" in refused(
        run("users", "set-password", "ghost@example.com", url=migrated, cwd=tmp_path)
    )


def test_demo_prints_a_working_dashboard_login(sqlite_url: str, tmp_path: Path) -> None:
    out = ok(run("demo", url=sqlite_url, cwd=tmp_path))
    assert "/dashboard/login" in out
    email = re.search(r"email:\s+(\S+)", out)
    password = re.search(r"password:\s+(\S+)", out)
    assert email and password
    assert can_sign_in(sqlite_url, tmp_path, email.group(1), password.group(1))
