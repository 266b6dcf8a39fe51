"""QR codes as inline SVG, drawn on the server: no script, no external image, nothing to load."""

from __future__ import annotations

import segno


def svg(data: str, *, title: str | None = None) -> str:
    """An ``<svg>`` element encoding exactly ``data`` in a regular (not Micro) QR code.

    The element has a viewBox and no width or height, so CSS sizes it; the four-module quiet zone
    that scanners need is part of the drawing. Error correction at least M (segno raises it when
    that costs no extra size), so a creased or dimly lit printout still scans.
    """
    code = segno.make_qr(data, error="m")
    result: str = code.svg_inline(
        scale=1, border=4, omitsize=True, svgclass="qr", lineclass=None, title=title
    )
    return result
