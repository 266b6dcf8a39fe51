"""The provider seam: manual methods settle at once; unknown methods are refused."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from tessera.errors import ValidationFailed
from tessera.payment.provider import Charge, ChargeResult, provider_for


@pytest.mark.parametrize("method", ["cash", "free", "external"])
def test_manual_methods_succeed_immediately(method: str) -> None:
    provider = provider_for(method)
    assert provider.name == "manual"
    charge = Charge(payment_id="pay_x", method=method, currency="usd", amount=Decimal("25.00"))
    assert asyncio.run(provider.charge(charge)) == ChargeResult("manual", "succeeded")
    assert asyncio.run(provider.refund(charge)) == ChargeResult("manual", "refunded")


def test_an_unsupported_method_is_a_validation_error() -> None:
    with pytest.raises(ValidationFailed) as raised:
        provider_for("card")
    assert raised.value.status == 400
    assert list(raised.value.body()["details"]["fieldErrors"]) == ["payment_method"]
