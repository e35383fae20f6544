"""Strategies as pure values: a bar and the current position in, at most one order intent out.

No I/O, no engine: the backtester (or a live runner) turns intents into orders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol

from trader_common.signals import sma_crossings

from .bars import DailyBar

ZERO = Decimal(0)


class StrategyConfigError(ValueError):
    """A strategy parameter is out of range; the message names it."""


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """A market order the strategy wants placed after the bar that produced it."""

    side: Literal["buy", "sell"]
    qty: Decimal


class Strategy(Protocol):
    """One instance per symbol. ``on_bar`` sees each closed bar once, in time order, with the
    position held after that bar's fills, and answers with an order intent or None."""

    def on_bar(self, bar: DailyBar, position: Decimal) -> OrderIntent | None: ...


class Preparable(Protocol):
    """Optional: a strategy may also offer ``prepare(bars)``, called once before a backtest with
    the symbol's whole series, to precompute its signals. It must stay free of look-ahead: what
    ``on_bar`` answers at bar i may depend on bars 0..i only."""

    def prepare(self, bars: Sequence[DailyBar]) -> None: ...


@dataclass(frozen=True, slots=True)
class SmaCrossParams:
    fast: int = 10
    slow: int = 30
    qty: Decimal = Decimal(100)

    def __post_init__(self) -> None:
        if self.fast < 1:
            raise StrategyConfigError(f"fast must be at least 1, got {self.fast}")
        if self.slow <= self.fast:
            raise StrategyConfigError(
                f"slow must be longer than fast, got fast {self.fast} and slow {self.slow}"
            )
        if not self.qty.is_finite() or self.qty <= ZERO:
            raise StrategyConfigError(f"qty must be positive, got {self.qty}")


class SmaCross:
    """Long-only simple-moving-average crossover on closes.

    Buys ``qty`` when the fast SMA crosses above the slow one while flat; sells the whole
    position when it crosses below. "Crosses above" means: the fast SMA is above the slow one
    now, and the last time they differed it was below (equal values in between do not reset
    the side) - the same rule as backtrader's ``CrossOver``. The first bar on which both
    averages exist only records the side, so the first signal can come one bar later.

    Sums are kept exactly in Decimal and compared without dividing
    (``fast_sum * slow`` against ``slow_sum * fast``).
    """

    __slots__ = (
        "_bars",
        "_closes",
        "_fast",
        "_fast_sum",
        "_next",
        "_qty",
        "_side",
        "_signals",
        "_slow",
        "_slow_sum",
    )

    def __init__(self, params: SmaCrossParams) -> None:
        self._fast = params.fast
        self._slow = params.slow
        self._qty = params.qty
        self._closes: list[Decimal] = []
        self._fast_sum = ZERO
        self._slow_sum = ZERO
        self._side: int | None = None  # sign of the last non-zero difference (seeded raw)
        self._bars: Sequence[DailyBar] = ()
        self._signals: list[int] = []
        self._next = 0

    def prepare(self, bars: Sequence[DailyBar]) -> None:
        """Precompute the crossings of the whole series (``sma_crossings``); ``on_bar`` must
        then be given exactly these bars, in order."""
        if self._closes or self._next:
            raise StrategyConfigError("prepare() must come before the first on_bar()")
        self._bars = bars
        self._signals = sma_crossings([b.close for b in bars], self._fast, self._slow)

    def on_bar(self, bar: DailyBar, position: Decimal) -> OrderIntent | None:
        if self._signals:
            i = self._next
            if i >= len(self._bars) or self._bars[i] is not bar:
                raise StrategyConfigError(f"bar {bar.day} is not bar {i} of the prepared series")
            self._next = i + 1
            signal = self._signals[i]
            if signal > 0 and position == ZERO:
                return OrderIntent("buy", self._qty)
            if signal < 0 and position > ZERO:
                return OrderIntent("sell", position)
            return None
        closes = self._closes
        close = bar.close
        closes.append(close)
        n = len(closes)
        fast, slow = self._fast, self._slow
        self._fast_sum += close - closes[n - 1 - fast] if n > fast else close
        self._slow_sum += close - closes[n - 1 - slow] if n > slow else close
        if n < slow:
            return None
        diff = self._fast_sum * slow - self._slow_sum * fast
        sign = (diff > 0) - (diff < 0)
        before = self._side
        if before is None:
            self._side = sign
            return None
        if sign:
            self._side = sign
        if sign > 0 and before < 0 and position == ZERO:
            return OrderIntent("buy", self._qty)
        if sign < 0 and before > 0 and position > ZERO:
            return OrderIntent("sell", position)
        return None
