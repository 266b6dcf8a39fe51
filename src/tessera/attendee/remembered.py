"""What a Create Attendee on PostgreSQL remembers of a ticket class between requests.

A create sent as one statement first reads the event, the class and the contact
(``repository.create_state``): one statement and one round trip of its own. The class and the
event change rarely, so when a read found them usable and the contact new, the process keeps
what the statement will check about them (the event's and the class's approval rules, the
class's name, cost and currency, whether the organization had an enabled webhook endpoint). The
next create of that class, with a new contact, then sends its statement without the read.

Nothing remembered is trusted. The statement checks every value the create relied on, as it
checks what a read saw: the class still active and as remembered and with room
(``repository.expect_class``), the event's approval rule and room (``expect_event``), still no
enabled endpoint when none was seen (``webhook.emit.expect_none_enabled``), the contact still
absent (its plain insert meets the unique key). When any of that no longer holds, the statement
writes nothing and the create reads afresh (``create.one_statement_versions``), which also
replaces or forgets what was remembered. A memory is kept only while the reads keep finding
new contacts and for at most :data:`MAX_AGE_MICROS`, so an organization whose creates are
mostly existing contacts, or which disabled its endpoints, goes back to the read.
"""

from __future__ import annotations

from typing import Any

MAX_AGE_MICROS = 30 * 1_000_000
MAX_CLASSES = 4096  # per process; the oldest is forgotten first

# The columns of ``create_state`` that a create without a read relies on: a remembered class
# is a dict of these (plus ``read_at``), so it stands in for that row.
KEPT = (
    "class_id",
    "name",
    "cost",
    "currency",
    "require_approval",
    "event_requires_approval",
    "webhooks",
)

_CLASSES: dict[tuple[str, str, str], dict[str, Any]] = {}


def recall(organization_id: str, event_id: str, class_id: str, now: int) -> dict[str, Any] | None:
    """The class as a recent read saw it, if one did within :data:`MAX_AGE_MICROS`."""
    found = _CLASSES.get((organization_id, event_id, class_id))
    if found is None or not 0 <= now - found["read_at"] < MAX_AGE_MICROS:
        return None
    return found


def remember(organization_id: str, event_id: str, state: Any, now: int) -> None:
    """Keep what a read (``create_state``) found, once a create decided to write from it with a
    new contact."""
    key = (organization_id, event_id, state["class_id"])
    _CLASSES.pop(key, None)
    if len(_CLASSES) >= MAX_CLASSES:
        del _CLASSES[next(iter(_CLASSES))]
    _CLASSES[key] = {**{name: state[name] for name in KEPT}, "read_at": now}


def forget(organization_id: str, event_id: str, class_id: str) -> None:
    _CLASSES.pop((organization_id, event_id, class_id), None)


def forget_organization(organization_id: str) -> None:
    """Forget every class of the organization: called once a webhook endpoint of it is enabled
    (created or changed) in this process, whose creates would otherwise send one statement
    expecting none. Other processes find out from that statement, which gives way."""
    for key in [key for key in _CLASSES if key[0] == organization_id]:
        del _CLASSES[key]
