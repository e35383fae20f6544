"""Deterministic synthetic quotes: a random walk of the mid with a spread, per symbol.

Pure: no clock, no I/O. Same seed, same symbols, same sequence.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from trader_common.contracts import QuoteUpdated

CENT = Decimal("0.01")


@dataclass
class SyntheticQuotes:
    symbols: list[str]
    seed: int
    start_price: Decimal = Decimal("100")
    volatility_per_step: float = 0.001
    spread_bps: int = 5
    _mids: dict[str, float] = field(init=False)
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._mids = {s: float(self.start_price) for s in self.symbols}

    def next_quotes(self, at: datetime) -> list[QuoteUpdated]:
        quotes = []
        for symbol in self.symbols:
            shock = self._rng.gauss(0.0, self.volatility_per_step)
            mid = self._mids[symbol] * math.exp(shock - self.volatility_per_step**2 / 2)
            self._mids[symbol] = mid
            half_spread = max(mid * self.spread_bps / 20_000, 0.005)
            bid = Decimal(mid - half_spread).quantize(CENT, ROUND_HALF_UP)
            ask = Decimal(mid + half_spread).quantize(CENT, ROUND_HALF_UP)
            if ask <= bid:
                ask = bid + CENT
            size = Decimal(self._rng.randrange(1, 50) * 100)
            quotes.append(
                QuoteUpdated(
                    symbol=symbol, source="synthetic", ts_event=at,
                    bid=bid, ask=ask, bid_size=size, ask_size=size,
                )
            )
        return quotes
