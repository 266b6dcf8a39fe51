"""Money as ``Decimal`` with an ISO-4217 currency; never float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# Currencies whose minor unit is not 2 digits. Everything else uses cents.
_EXPONENT = {
    "bif": 0,
    "clp": 0,
    "djf": 0,
    "gnf": 0,
    "isk": 0,
    "jpy": 0,
    "kmf": 0,
    "krw": 0,
    "pyg": 0,
    "rwf": 0,
    "ugx": 0,
    "vnd": 0,
    "vuv": 0,
    "xaf": 0,
    "xof": 0,
    "xpf": 0,
    "bhd": 3,
    "iqd": 3,
    "jod": 3,
    "kwd": 3,
    "lyd": 3,
    "omr": 3,
    "tnd": 3,
}

MAX_AMOUNT = Decimal("99999999.999")


def exponent(currency: str) -> int:
    return _EXPONENT.get(currency.lower(), 2)


def parse_amount(value: object, currency: str) -> Decimal:
    """A non-negative amount with no more decimals than the currency has."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError('must be a decimal number, e.g. 25 or "25.00"')
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValueError('must be a decimal number, e.g. 25 or "25.00"') from None
    if not amount.is_finite() or amount < 0:
        raise ValueError("must be zero or a positive amount")
    if amount > MAX_AMOUNT:
        raise ValueError("is too large")
    digits = exponent(currency)
    if amount != amount.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP):
        raise ValueError(f"has more than {digits} decimal places for {currency.upper()}")
    return amount


def format_amount(amount: Decimal | str, currency: str) -> str:
    """Fixed number of decimals for the currency: ``"25.00"``, ``"1000"`` (JPY)."""
    quantized = Decimal(amount).quantize(Decimal(1).scaleb(-exponent(currency)))
    # "-0" is a valid Decimal (and >= 0), but no price to show anyone.
    return str(quantized.copy_abs() if quantized.is_zero() else quantized)
