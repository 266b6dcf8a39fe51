"""The idempotency fingerprint (SPEC §2): the same request in any spelling, and nothing else.

A key is bound to method, path and the *canonical* JSON body (``tessera.kit.jsonutil``): key
order and whitespace must not change the fingerprint, and any change of a value must. Checked on
the function with arbitrary JSON, then end to end: a retry spelled differently replays the
stored response, a retry with one value changed is refused with 422, and the work ran once.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tessera.kit.jsonutil import canonical, fingerprint
from tests.support import ApiClient

INT64 = st.integers(-(2**63), 2**63 - 1)  # what JSON numbers orjson encodes
leaves = st.none() | st.booleans() | INT64 | st.floats(allow_nan=False) | st.text(max_size=12)
json_values = st.recursive(
    leaves,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=24,
)
json_objects = st.dictionaries(st.text(max_size=6), json_values, max_size=6)
PATH = "/api/v1/events/AbCdEfGhIjKlMnOpQrSt/attendees"


def reordered(value: Any, data: st.DataObject) -> Any:
    """The same JSON value with every object's members in a random order."""
    if isinstance(value, dict):
        keys = data.draw(st.permutations(list(value)))
        return {key: reordered(value[key], data) for key in keys}
    if isinstance(value, list):
        return [reordered(item, data) for item in value]
    return value


def spelled(value: Any, data: st.DataObject) -> str:
    """The value as JSON text with arbitrary (valid) whitespace and escaping."""
    return json.dumps(
        reordered(value, data),
        indent=data.draw(st.none() | st.integers(0, 4)),
        separators=data.draw(st.sampled_from([(",", ":"), (", ", ": "), (" ,\n", " :\t")])),
        ensure_ascii=data.draw(st.booleans()),
    )


def changed_leaf(value: Any) -> Any:
    """A different JSON value in place of ``value`` (never equal as JSON)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1 if value < 2**63 - 1 else value - 1
    if isinstance(value, float):
        return repr(value)  # a string is never a number
    if isinstance(value, str):
        return value + "x"
    if value is None:
        return 0
    if isinstance(value, list):
        return [*value, None]
    return {**value, "\x7fnew": None}


def mutated(value: Any, data: st.DataObject) -> Any:
    """``value`` with exactly one change somewhere inside it."""
    if isinstance(value, dict) and value and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(value)))
        if data.draw(st.integers(0, 3)) == 0:  # rename the member
            renamed = {k: v for k, v in value.items() if k != key}
            renamed[key + "_"] = value[key]
            if key + "_" not in value:
                return renamed
        return {**value, key: mutated(value[key], data)}
    if isinstance(value, list) and value and data.draw(st.booleans()):
        index = data.draw(st.integers(0, len(value) - 1))
        return [*value[:index], mutated(value[index], data), *value[index + 1 :]]
    return changed_leaf(value)


@settings(max_examples=400, deadline=None, database=None, derandomize=True)
@given(body=json_objects, data=st.data())
def test_key_order_and_whitespace_do_not_change_the_fingerprint(
    body: dict[str, Any], data: st.DataObject
) -> None:
    retyped = json.loads(spelled(body, data))
    assert canonical(retyped) == canonical(body)
    assert fingerprint("POST", PATH, retyped) == fingerprint("POST", PATH, body)


@settings(max_examples=400, deadline=None, database=None, derandomize=True)
@given(body=json_objects, data=st.data())
def test_any_value_change_changes_the_fingerprint(
    body: dict[str, Any], data: st.DataObject
) -> None:
    other = mutated(body, data)
    assert fingerprint("POST", PATH, other) != fingerprint("POST", PATH, body)


@settings(max_examples=100, deadline=None, database=None, derandomize=True)
@given(body=json_objects)
def test_method_and_path_are_part_of_the_fingerprint(body: dict[str, Any]) -> None:
    assert fingerprint("POST", PATH, body) != fingerprint("PATCH", PATH, body)
    assert fingerprint("POST", PATH, body) != fingerprint("POST", PATH + "x", body)


_emails = itertools.count()
names = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=20)


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    first=names,
    last=names,
    phone=st.none() | st.from_regex(r"\+[1-9][0-9]{6,12}", fullmatch=True),
    change=st.sampled_from(["email", "first_name", "last_name"]),
    data=st.data(),
)
def test_a_retry_spelled_differently_replays_and_a_changed_one_is_refused(
    api: ApiClient, first: str, last: str, phone: str | None, change: str, data: st.DataObject
) -> None:
    tenant = getattr(api, "fingerprint_tenant", None) or api.tenant("Fingerprints")
    api.fingerprint_tenant = tenant  # type: ignore[attr-defined]
    n = next(_emails)
    body: dict[str, Any] = {
        "email": f"guest{n}@example.com",
        "first_name": first,
        "last_name": last,
    }
    if phone is not None:
        body["phone"] = phone
    headers = {"Idempotency-Key": f"fp-{n}", "Content-Type": "application/json"}
    before = api.count("contacts")
    first_response = tenant.post("/api/v1/contacts", content=spelled(body, data), headers=headers)
    assert first_response.status_code in (201, 400), first_response.text
    executed = api.count("contacts") - before
    assert executed == (1 if first_response.status_code == 201 else 0)
    if first_response.status_code == 400:  # a name the contact rules refuse; nothing stored
        return

    replay = tenant.post("/api/v1/contacts", content=spelled(body, data), headers=headers)
    assert replay.status_code == first_response.status_code, replay.text
    assert replay.content == first_response.content
    assert replay.headers["Idempotent-Replay"] == "true"

    other = {**body, change: changed_leaf(body[change])}
    if change == "email":
        other["email"] = f"other{n}@example.com"
    refused = tenant.post("/api/v1/contacts", content=spelled(other, data), headers=headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "idempotency_key_reused"
    assert api.count("contacts") - before == 1  # executed exactly once
