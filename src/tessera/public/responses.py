"""How the public pages answer: HTML with strict headers, the form cookie, redirects."""

from __future__ import annotations

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from tessera.public import csrf, render

SECURITY_HEADERS = {
    "Content-Security-Policy": render.CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Every rendering carries a fresh form token: never cached, by the browser or a proxy.
    "Cache-Control": "no-store",
}
# The event page may tell other sites where a visitor came from; the claim pages (whose URL is
# a secret) may not.
PAGE_REFERRER = "strict-origin-when-cross-origin"
PRIVATE_REFERRER = "no-referrer"


def html(
    content: str,
    status: int = 200,
    *,
    private: bool = False,
    headers: dict[str, str] | None = None,
) -> Response:
    response = HTMLResponse(
        content,
        status_code=status,
        headers={
            **SECURITY_HEADERS,
            "Referrer-Policy": PRIVATE_REFERRER if private else PAGE_REFERRER,
            **(headers or {}),
        },
    )
    if private:
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def not_found() -> Response:
    return html(render.not_found(), 404, private=True)


def see_other(location: str) -> Response:
    return RedirectResponse(location, status_code=303, headers={"Cache-Control": "no-store"})


def set_browser_cookie(request: Request, response: Response, browser: str) -> None:
    """Set the form cookie unless the browser already sent this one."""
    if csrf.browser_id(request) == browser:
        return
    response.headers.append("set-cookie", csrf.cookie_header(browser))


def too_large() -> Response:
    content = render.message(
        "This form is too large", ["Please go back and try again."], outcome="too_large"
    )
    return html(content, 413, private=True)
