"""Rendered event pages, kept per state of the event (a small per-process LRU).

The page a visitor first sees differs between two views only by its form tokens. So it is
rendered once for each state of what it shows — the page's whole model (the event, every
class with its seats, line and sales state as of now, the questions), compared by value — with
placeholders where the tokens go, and each view fills in its own. The database is still read on
every view (the model is the key), so a change shows on the very next view.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from tessera.public.page import PublicEvent

SIZE = 256
_pages: OrderedDict[tuple[str, str], str] = OrderedDict()


def placeholders(count: int) -> list[str]:
    return [f"csrf-token-placeholder-{n}-" for n in range(count)]


def page(shown: PublicEvent, base_url: str, render: Callable[[], str]) -> str:
    key = (base_url, repr(shown))
    found = _pages.get(key)
    if found is not None:
        _pages.move_to_end(key)
        return found
    content = render()
    _pages[key] = content
    if len(_pages) > SIZE:
        _pages.popitem(last=False)
    return content
