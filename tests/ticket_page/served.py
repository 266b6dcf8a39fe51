"""A real `tessera serve` process, a headless Chromium that looks at it, and a QR reader.

Used by the browser tests of the ticket page and by the "as a new user" email test: the page is
rendered by a real browser from a real server, and the QR codes are read back from the pixels.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import zxingcpp
from PIL import Image

TESSERA = Path(sys.executable).parent / "tessera"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
PHONE = (390, 2400)  # CSS pixels: a phone's width, tall enough for a few tickets


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def chromium() -> str:
    """The Chromium binary; without one the browser tests fail under CI and skip locally."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = (
            "Chromium is not installed: `apt-get install -y chromium` (.ci/run does it), then "
            "run the browser tests again."
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def _chromium_run(args: list[str], workdir: Path) -> None:
    profile = Path(tempfile.mkdtemp(prefix="chromium-", dir=workdir))
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        *args,
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, timeout=90, check=False, stdin=subprocess.DEVNULL
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if done.returncode != 0:
        pytest.fail(f"chromium failed ({done.returncode}): {done.stderr.decode()[-2000:]}")


def screenshot(url: str, out: Path, size: tuple[int, int] = PHONE) -> Path:
    """What a phone shows at ``url``, as a PNG."""
    out.parent.mkdir(parents=True, exist_ok=True)
    _chromium_run([f"--window-size={size[0]},{size[1]}", f"--screenshot={out}", url], out.parent)
    assert out.exists() and out.stat().st_size > 0, f"no screenshot of {url}"
    return out


def print_to_pdf(url: str, out: Path) -> bytes:
    """What printing ``url`` gives, as a PDF."""
    out.parent.mkdir(parents=True, exist_ok=True)
    _chromium_run(["--no-pdf-header-footer", f"--print-to-pdf={out}", url], out.parent)
    return out.read_bytes()


def pdf_page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


def read_qr_codes(image: Image.Image) -> list[str]:
    """The text of every QR code zxing-cpp finds in the image, top to bottom."""
    found = zxingcpp.read_barcodes(image.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)
    return [code.text for code in sorted(found, key=lambda code: code.position.top_left.y)]


def save_artifact(source: Path, name: str) -> Path:
    """Keep a copy under ./artifacts (gitignored) for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / name
    shutil.copyfile(source, target)
    return target


class ServedTessera:
    """`tessera serve` on a free loopback port over a SQLite file, with an organization and an
    API key made by the CLI, as an operator would."""

    def __init__(self, workdir: Path, **env: str) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.mail_dir = workdir / "mail"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
        self.env.update(
            TESSERA_DATABASE_URL=f"sqlite:///{workdir / 'tessera.db'}",
            TESSERA_BASE_URL=self.url,
            TESSERA_MAIL_DIR=str(self.mail_dir),
            TESSERA_RATE_LIMIT_PER_MINUTE="0",
            PYTHONUNBUFFERED="1",
            **env,
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.key = ""

    @property
    def log_path(self) -> Path:
        return self.workdir / "serve.log"

    def cli(self, *args: str) -> dict[str, Any]:
        done = subprocess.run(
            [str(TESSERA), *args, "--json"],
            env=self.env,
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, f"tessera {' '.join(args)}: {done.stdout}\n{done.stderr}"
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    def start(self) -> ServedTessera:
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [str(TESSERA), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env,
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"`tessera serve` exited: {self.log_path.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    break
            time.sleep(0.1)
        else:
            pytest.fail(f"`tessera serve` not ready: {self.log_path.read_text()[-3000:]}")
        org = self.cli("orgs", "create", "Harbor Events")
        self.key = self.cli("keys", "create", "--org", org["id"], "--name", "browser")["key"]
        return self

    def stop(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    # The HTTP API, as any client uses it ------------------------------------------------------
    def request(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return httpx.request(
            method, f"{self.url}{path}", json=body, timeout=10, headers={"X-API-KEY": self.key}
        )

    def make_event(self, **fields: Any) -> dict[str, Any]:
        body = {
            "name": "Harbor Lights Festival",
            "start": {"utc": "2027-07-15T18:00", "timezone": "America/New_York"},
            "end": {"utc": "2027-07-15T23:00", "timezone": "America/New_York"},
            "location": {
                "name": "Pier 4",
                "address": "1 Harbor Way",
                "city": "Boston",
                "state": "MA",
                "country": "US",
            },
            **fields,
        }
        response = self.request("POST", "/api/v1/events", body)
        assert response.status_code == 201, response.text
        event: dict[str, Any] = response.json()["data"]
        classes = self.request("GET", f"/api/v1/events/{event['id']}/ticket-classes").json()
        event["general_admission_id"] = classes["data"][0]["id"]
        return event

    def make_attendees(self, event: dict[str, Any], **fields: Any) -> dict[str, Any]:
        body = {
            "ticket_class_id": event["general_admission_id"],
            "contact": {"email": "ada@example.com", "first_name": "Ada", "last_name": "Byron"},
            **fields,
        }
        response = self.request("POST", f"/api/v1/events/{event['id']}/attendees", body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created
