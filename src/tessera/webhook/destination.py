"""Where a webhook may be sent: http(s) URLs whose host resolves only to public addresses.

Loopback, private, link-local, shared (CGNAT), reserved and multicast addresses are refused
unless ``TESSERA_WEBHOOK_ALLOW_PRIVATE`` is set, so an API key cannot turn the server into a
probe of its own network. The check runs when an endpoint is registered or changed, and again
before every delivery, because DNS answers change. A delivery then connects to the address that
was checked (see :func:`pinned`), so a name that resolves differently a millisecond later
(DNS rebinding) cannot slip a private address past the check.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

MAX_URL_LENGTH = 2048
RESOLVE_TIMEOUT = 5.0

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(Exception):
    """The URL's host is (or resolves to) an address webhooks may not reach."""


def check_syntax(url: str) -> str:
    """An absolute http(s) URL with a host; ValueError saying what is wrong otherwise."""
    if len(url) > MAX_URL_LENGTH:
        raise ValueError(f"must be at most {MAX_URL_LENGTH} characters")
    if any(char.isspace() or ord(char) < 0x20 for char in url):
        raise ValueError("must not contain spaces or control characters")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError("must be an http:// or https:// URL")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError:
        raise ValueError("has an invalid port") from None
    if not parts.hostname:
        raise ValueError("must name a host, e.g. https://example.com/webhooks")
    return url


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


async def resolve(url: str) -> list[str]:
    """The host's addresses (the host itself when it is an IP literal); OSError if none."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if _literal(host) is not None:
        return [host]
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = [str(info[4][0]).split("%", 1)[0] for info in infos]
    if not addresses:
        raise OSError(f"{host} has no address")
    return list(dict.fromkeys(addresses))


async def public_addresses(url: str) -> list[str]:
    """The host's addresses, all public, or :class:`Refused`. OSError when it does not resolve."""
    addresses = await resolve(url)
    for address in addresses:
        if not is_public(ipaddress.ip_address(address)):
            host = urlsplit(url).hostname
            shown = host if host == address else f"{host} ({address})"
            raise Refused(f"{shown} is a loopback, private or link-local address")
    return addresses


async def refusal(url: str, allow_private: bool) -> str | None:
    """Why the URL may not be registered, or None.

    A host that does not resolve (yet) is accepted: DNS may be set up after the endpoint, and
    every delivery checks again.
    """
    if allow_private:
        return None
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT):
            await public_addresses(url)
    except Refused as exc:
        return str(exc)
    except (OSError, TimeoutError):
        return None
    return None


@dataclass(frozen=True, slots=True)
class Target:
    """The request line of a delivery: URL, extra headers and httpx extensions."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, Any] = field(default_factory=dict)


def pinned(url: str, address: str) -> Target:
    """Send to ``address`` while the request still names the URL's host.

    The ``Host`` header carries the name for virtual hosting, and for https the TLS server name
    (SNI) and certificate check use it too, so pinning weakens nothing.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host == address or _literal(host) is not None:
        return Target(url)
    shown = f"[{address}]" if ":" in address else address
    netloc = shown if parts.port is None else f"{shown}:{parts.port}"
    if "@" in parts.netloc:
        netloc = parts.netloc.rsplit("@", 1)[0] + "@" + netloc
    host_header = parts.netloc.rsplit("@", 1)[-1]
    extensions: dict[str, Any] = {}
    if parts.scheme.lower() == "https":
        extensions["sni_hostname"] = host
    return Target(
        urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")),
        {"Host": host_header},
        extensions,
    )
