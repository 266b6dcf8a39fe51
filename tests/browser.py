"""A reusable Playwright fixture: real headless Chromium (Debian's /usr/bin/chromium, nothing is
downloaded at test time), plus helpers for fake-camera videos and axe-core checks.

Use it from a test module or a conftest::

    from tests.browser import browser, page  # noqa: F401  (fixtures)

``browser`` is one Chromium per test module; ``page`` a fresh context (cookies, storage) per
test. A module that needs other Chromium flags (a fake camera) calls :func:`launch` itself.
Without Chromium, or without the playwright package, the tests skip locally and fail under CI.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

AXE = Path(__file__).parent / "dashboard" / "vendor" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def _unavailable(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        _unavailable("Chromium is not installed: `apt-get install -y chromium`.")
    assert found is not None
    return found


def launch(playwright: Any, *extra_args: str) -> Any:
    """Headless Chromium from the system, with ``extra_args`` (e.g. fake-camera flags)."""
    return playwright.chromium.launch(
        executable_path=chromium_path(),
        headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", *extra_args],
    )


@pytest.fixture(scope="module")
def playwright_instance() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed: `make install` installs it (dev extra).")
        raise
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="module")
def browser(playwright_instance: Any) -> Iterator[Any]:
    chromium = launch(playwright_instance)
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def fake_camera_flags(video: Path) -> list[str]:
    """Chromium plays ``video`` (.y4m or .mjpeg) as the camera and allows it without asking."""
    return [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]


def write_y4m(frames: list[Any], out: Path, fps: int = 10) -> Path:
    """Write PIL images (all the same even size) as a YUV4MPEG2 4:2:0 video: a header line,
    then per frame ``FRAME\\n`` and the Y, U and V planes (BT.601, as Pillow converts)."""
    width, height = frames[0].size
    assert width % 2 == 0 and height % 2 == 0, "4:2:0 needs even sizes"
    with out.open("wb") as video:
        video.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            y, u, v = frame.convert("YCbCr").split()
            half = (width // 2, height // 2)
            video.write(b"FRAME\n")
            video.write(y.tobytes())
            video.write(u.resize(half).tobytes())
            video.write(v.resize(half).tobytes())
    return out


def qr_video(text: str, out: Path, seconds: int = 3) -> Path:
    """A video of a QR code encoding ``text`` on a white page, as a camera would see a ticket."""
    import segno
    from PIL import Image

    qr = segno.make(text, error="m")
    path = out.with_suffix(".png")
    qr.save(str(path), scale=8, border=4)
    code = Image.open(path).convert("RGB")
    frame = Image.new("RGB", (640, 480), "white")
    side = min(400, code.size[0])
    code = code.resize((side, side), Image.NEAREST)
    frame.paste(code, ((640 - side) // 2, (480 - side) // 2))
    return write_y4m([frame] * (seconds * 10), out, fps=10)


def axe_violations(page: Any, impacts: tuple[str, ...] = ("serious", "critical")) -> list[Any]:
    """Run axe-core (vendored from npm, injected here, never served by the app) on the page and
    return the violations of the given impacts, each as (id, impact, help, first target)."""
    # Evaluated through the DevTools protocol, not as a <script> tag: the pages' CSP refuses
    # inline scripts, and the test must not weaken it to look.
    page.evaluate(AXE.read_text() + "\n;true")
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        (v["id"], v["impact"], v["help"], v["nodes"][0]["target"] if v["nodes"] else None)
        for v in result["violations"]
        if v["impact"] in impacts
    ]
