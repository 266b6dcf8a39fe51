"""The fast ASCII path for email validation never accepts what email_validator refuses."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.contact.schemas import is_plain_email, normalize_email

LOCAL = st.text(alphabet="abcxyz019.-_+!#$%&'*/=?^`{|}~", min_size=1, max_size=70)
LABEL = st.text(alphabet="abcxn019-", min_size=1, max_size=66)
DOMAIN = st.lists(LABEL, min_size=1, max_size=4).map(".".join)
TLD = st.sampled_from(["com", "org", "test", "local", "c", "co1", "invalid", "xn--p1ai", "arpa"])


def accepted_by_email_validator(address: str) -> bool:
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


@settings(max_examples=3000, deadline=None)
@given(LOCAL, DOMAIN, TLD)
def test_fast_path_agrees_with_email_validator(local: str, domain: str, tld: str) -> None:
    address = f"{local}@{domain}.{tld}"
    if is_plain_email(address):
        assert accepted_by_email_validator(address), address


def test_everyday_addresses_take_the_fast_path() -> None:
    for address in ("jane@example.com", "j.doe+tickets@mail.example.co.uk", "x_y@a-b.io"):
        assert is_plain_email(address)
        assert normalize_email(address.upper()) == address


def test_the_rest_is_left_to_email_validator() -> None:
    assert not is_plain_email("jane@bücher.de")
    assert normalize_email("Jane@Bücher.de") == "jane@bücher.de"
    for bad in ("jane@localhost", "jane@example.test", "a..b@example.com", "jane@-x.com"):
        assert not is_plain_email(bad)
        try:
            normalize_email(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad} was accepted")
