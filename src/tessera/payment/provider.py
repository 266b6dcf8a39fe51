"""The payment-provider seam: who collects the money of a payment, and what became of it.

Tessera records payments; it does not move money today. Cash, free and external payments are
settled outside Tessera, so :class:`ManualProvider` records them as ``succeeded`` at once and does
no I/O. A card adapter (Stripe) implements :class:`PaymentProvider` and is registered for its
method in ``_PROVIDERS``; ticket logic only calls :func:`provider_for` and reads the
:class:`ChargeResult`, so it does not change. Such an adapter talks to the network: it must be
called outside the database transaction and will typically answer ``pending`` until the
provider's webhook confirms the charge.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol, get_args

from tessera import errors

PaymentStatus = Literal["succeeded", "pending", "failed", "refunded"]
PAYMENT_STATUSES: frozenset[str] = frozenset(get_args(PaymentStatus))


@dataclass(frozen=True, slots=True)
class Charge:
    """What to collect: the payment's amount in its currency, by the method the buyer chose."""

    payment_id: str
    method: str
    currency: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class ChargeResult:
    provider: str  # stored in payments.provider
    status: PaymentStatus


class PaymentProvider(Protocol):
    name: str

    async def charge(self, charge: Charge) -> ChargeResult: ...

    async def refund(self, charge: Charge) -> ChargeResult: ...


class ManualProvider:
    """Money changes hands outside Tessera (at the door, free, or another system)."""

    name = "manual"

    async def charge(self, charge: Charge) -> ChargeResult:
        return ChargeResult(self.name, "succeeded")

    async def refund(self, charge: Charge) -> ChargeResult:
        return ChargeResult(self.name, "refunded")


MANUAL_METHODS = ("cash", "free", "external")
_MANUAL = ManualProvider()
_PROVIDERS: dict[str, PaymentProvider] = dict.fromkeys(MANUAL_METHODS, _MANUAL)


def provider_for(method: str) -> PaymentProvider:
    """The provider that collects payments of ``method``; an unknown method is a 400."""
    provider = _PROVIDERS.get(method)
    if provider is None:
        raise errors.field_error(
            "payment_method", f"must be one of {', '.join(sorted(_PROVIDERS))}"
        )
    return provider
