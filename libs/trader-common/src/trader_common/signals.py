"""Trading signals shared by the platform's strategies and the backtester, so the decision a
strategy makes through the sidecars and in a one-process backtest is computed by one function.
Pure: Decimal closes in, signals out."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from itertools import accumulate

ZERO = Decimal(0)


def sma_crossings(closes: Sequence[Decimal], fast: int, slow: int) -> list[int]:
    """Per bar: +1 where the fast simple moving average crosses above the slow one, -1 where it
    crosses below, 0 otherwise. "Crosses above": the fast SMA is above the slow one now, and the
    last time they differed it was below (equal values in between do not reset the side) - the
    rule of backtrader's ``CrossOver``. The first bar on which both averages exist only records
    the side. Running Decimal sums are compared without dividing (``fast_sum * slow`` against
    ``slow_sum * fast``), so the result is exact."""
    n = len(closes)
    out = [0] * n
    if n <= slow:
        return out
    sums = [ZERO, *accumulate(closes)]  # sums[i + 1] = closes[0..i], exact in Decimal
    side = 0
    for i in range(slow - 1, n):
        diff = (sums[i + 1] - sums[i + 1 - fast]) * slow - (sums[i + 1] - sums[i + 1 - slow]) * fast
        sign = (diff > 0) - (diff < 0)
        if i >= slow:
            if sign > 0 > side:
                out[i] = 1
            elif sign < 0 < side:
                out[i] = -1
            if sign:
                side = sign
        else:
            side = sign  # seed: the first bar with both averages
    return out
