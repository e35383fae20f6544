"""Decimal helpers for money, prices and quantities. Money is never a float."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)
CENT = Decimal("0.01")
BPS = Decimal(10_000)
FRACTIONAL_QTY_STEP = Decimal("0.000000001")  # Alpaca takes fractional quantities to 9 places.
FINE_PRICE_STEP = Decimal("0.000000001")
# The largest quantity, price or amount an order may carry: far above any real order, and small
# enough that everything the engine computes from it (qty x price, a value over its increment or
# tick, rounding to the cent) stays exact in the default 28-digit decimal context, where
# 1E+20 % 1E-9, say, raises DivisionImpossible.
MAX_ORDER_NUMBER = Decimal(10) ** 12


def cents(amount: Decimal) -> Decimal:
    """Round an amount of money to the cent, half up, as a brokerage statement does."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def floor_to(value: Decimal, step: Decimal) -> Decimal:
    """The largest multiple of ``step`` not above ``value``."""
    return (value / step).to_integral_value(rounding=ROUND_FLOOR) * step


def ceil_to(value: Decimal, step: Decimal) -> Decimal:
    """The smallest multiple of ``step`` not below ``value``."""
    return (value / step).to_integral_value(rounding=ROUND_CEILING) * step


def nearest(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_HALF_UP) * step


def is_multiple(value: Decimal, step: Decimal) -> bool:
    return (value % step) == 0


def as_decimal(name: str, value: object) -> Decimal:
    """Coerce an input number to Decimal, refusing floats (binary floats cannot hold cents)."""
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool | float):
        raise ValueError(
            f"{name} must be a Decimal, an int or a numeric string, not {type(value).__name__}"
            f" ({value!r}): binary floats cannot represent prices exactly"
        )
    elif isinstance(value, int | str):
        try:
            result = Decimal(value)
        except ArithmeticError:
            raise ValueError(f"{name} is not a number: {value!r}") from None
    else:
        raise ValueError(f"{name} must be a number, not {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return result
