"""Reading the ticket page as a test: its ticket cards, and the QR codes in its inline SVG.

The SVG is read back without a browser: segno draws each dark run of a row as a horizontal
stroke one module tall (``M4 4.5h7m1 0h2…``), so painting those strokes onto a bitmap gives the
symbol exactly, and zxing-cpp decodes it. The browser tests check the same codes from Chromium's
pixels.
"""

from __future__ import annotations

import re

from PIL import Image, ImageDraw

from tests.ticket_page.served import read_qr_codes

_ARTICLE = re.compile(r'<article class="ticket[^"]*" id="(tkt_\w+)"[^>]*>(.*?)</article>', re.S)
_SVG = re.compile(r"<svg\b.*?</svg>", re.S)
_VIEWBOX = re.compile(r'viewBox="0 0 (\d+) (\d+)"')
_PATH = re.compile(r'<path\b[^>]*\sd="([^"]+)"')
_COMMAND = re.compile(r"([MmHh])\s*(-?[\d.]+)(?:[\s,]+(-?[\d.]+))?")


def ticket_cards(html: str) -> dict[str, str]:
    """Ticket ID → the HTML of its card, in page order."""
    return dict(_ARTICLE.findall(html))


def svgs(html: str) -> list[str]:
    return _SVG.findall(html)


def rasterize(svg: str, scale: int = 8) -> Image.Image:
    """Paint a segno SVG path onto a white bitmap, ``scale`` pixels per module."""
    size = _VIEWBOX.search(svg)
    path = _PATH.search(svg)
    assert size is not None and path is not None, svg[:200]
    width, height = int(size.group(1)), int(size.group(2))
    image = Image.new("L", (width * scale, height * scale), 255)
    draw = ImageDraw.Draw(image)
    x = y = 0.0
    for command, first, second in _COMMAND.findall(path.group(1)):
        if command == "M":
            x, y = float(first), float(second)
        elif command == "m":
            x, y = x + float(first), y + float(second)
        elif command == "h":
            end = x + float(first)
            top = int(y - 0.5) * scale  # the stroke is centred on the row: y = row + 0.5
            draw.rectangle(
                [min(x, end) * scale, top, max(x, end) * scale - 1, top + scale - 1], fill=0
            )
            x = end
        else:  # absolute H
            raise AssertionError(f"unexpected path command {command}")
    return image


def decode_svg(svg: str) -> list[str]:
    return read_qr_codes(rasterize(svg))
