"""A deterministic synthetic market: any symbol list, no keys, no network.

Each symbol's mid price follows geometric Brownian motion whose drift and volatility switch
between regimes (calm, trending, volatile) as a Markov chain. Every step publishes a quote
(a bid/ask spread around the mid that widens in volatile regimes, at the open and outside the
session), one trade whose size follows a U-shaped intraday volume profile over the US equity
session, and - when a minute boundary passes - the closed one-minute bar built from the trades.

Pure: no clock, no I/O. Each symbol draws from its own generator seeded by (seed, symbol), so
the same seed, symbol and sequence of step times give the same prices whatever other symbols
are configured.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from trader_common.contracts import BarClosed, Event, QuoteUpdated, TradePrinted

from .sessions import session_fraction
from .timeframes import floor_time

ONE_MINUTE = timedelta(minutes=1)
TRADING_SECONDS_PER_YEAR = 252 * 6.5 * 3600
CENT = Decimal("0.01")
BASIS_POINT = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class Regime:
    name: str
    drift: float
    """Annualised drift of the log price."""
    volatility: float
    """Annualised volatility."""
    spread_factor: float
    mean_duration_seconds: float


REGIMES: tuple[Regime, ...] = (
    Regime("calm", drift=0.05, volatility=0.15, spread_factor=1.0, mean_duration_seconds=3600),
    Regime("trending", drift=0.40, volatility=0.25, spread_factor=1.2, mean_duration_seconds=1800),
    Regime("volatile", drift=-0.20, volatility=0.60, spread_factor=2.5, mean_duration_seconds=900),
)


def volume_weight(at: datetime) -> float:
    """Relative trading intensity at ``at``: a U over the session (2.0 at the open and close,
    0.5 at midday) and 0.1 outside it."""
    fraction = session_fraction(at)
    if fraction is None:
        return 0.1
    return 0.5 + 1.5 * (2 * fraction - 1) ** 2


def spread_multiplier(at: datetime) -> float:
    """Spreads are widest in the first quarter hour and outside the session."""
    fraction = session_fraction(at)
    if fraction is None:
        return 2.0
    return 1.5 if fraction < 15 / 390 else 1.0


def _quantum(price: float) -> Decimal:
    return CENT if price >= 1 else BASIS_POINT


def _price(value: float, quantum: Decimal) -> Decimal:
    return Decimal(repr(value)).quantize(quantum, ROUND_HALF_UP)


@dataclass
class _Bar:
    ts_open: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal

    def add(self, price: Decimal, size: Decimal) -> None:
        self.high = max(self.high, price)
        self.low = min(self.low, price)
        self.close = price
        self.volume += size


@dataclass
class _Symbol:
    rng: random.Random
    mid: float
    regime: int = 0
    bar: _Bar | None = None
    quote: QuoteUpdated | None = None
    bars: deque[BarClosed] = field(default_factory=lambda: deque(maxlen=2000))


class SyntheticMarket:
    def __init__(
        self,
        symbols: Sequence[str],
        seed: int,
        start_price: Decimal = Decimal("100"),
        *,
        step_seconds: float = 1.0,
        base_spread_bps: float = 5.0,
        shares_per_second: float = 200.0,
        history_bars: int = 2000,
        source: str = "synthetic",
        regimes: Sequence[Regime] = REGIMES,
    ) -> None:
        if not symbols:
            raise ValueError("SyntheticMarket needs at least one symbol")
        if start_price <= 0:
            raise ValueError("start_price must be positive")
        if step_seconds <= 0:
            raise ValueError("step_seconds must be positive")
        self.symbols = list(dict.fromkeys(symbols))
        self.seed = seed
        self.step_seconds = step_seconds
        self.base_spread_bps = base_spread_bps
        self.shares_per_second = shares_per_second
        self.source = source
        self.regimes = tuple(regimes)
        self._dt = step_seconds / TRADING_SECONDS_PER_YEAR
        self._state = {
            symbol: _Symbol(
                rng=random.Random(f"{seed}:{symbol}"),
                mid=float(start_price),
                bars=deque(maxlen=history_bars),
            )
            for symbol in self.symbols
        }

    # --- stepping -----------------------------------------------------------------------------

    def step(self, at: datetime) -> list[Event]:
        """Advance every symbol one step to ``at``: quotes, trades and any bars that closed."""
        # What depends only on the time is worked out once per step, not once per symbol.
        weight = volume_weight(at)
        spread = spread_multiplier(at)
        minute = floor_time(at, ONE_MINUTE)
        events: list[Event] = []
        for symbol in self.symbols:
            events.extend(
                self._step_symbol(symbol, self._state[symbol], at, weight, spread, minute)
            )
        return events

    def next_quotes(self, at: datetime) -> list[QuoteUpdated]:
        """Advance one step and return only the quotes."""
        return [e for e in self.step(at) if isinstance(e, QuoteUpdated)]

    def _step_symbol(
        self,
        symbol: str,
        state: _Symbol,
        at: datetime,
        weight: float,
        spread: float,
        minute: datetime,
    ) -> list[Event]:
        rng = state.rng
        self._maybe_switch_regime(state)
        regime = self.regimes[state.regime]
        shock = rng.gauss(0.0, 1.0)
        growth = (regime.drift - regime.volatility**2 / 2) * self._dt
        state.mid *= math.exp(growth + regime.volatility * math.sqrt(self._dt) * shock)

        quantum = _quantum(state.mid)
        spread_bps = self.base_spread_bps * regime.spread_factor * spread
        half_spread = state.mid * spread_bps / 20_000
        bid = max(_price(state.mid - half_spread, quantum), quantum)
        ask = _price(state.mid + half_spread, quantum)
        if ask <= bid:
            ask = bid + quantum
        lots = max(1, round(rng.lognormvariate(0.0, 0.5) * 5 * weight))
        quote = QuoteUpdated(
            symbol=symbol,
            source=self.source,
            ts_event=at,
            bid=bid,
            ask=ask,
            bid_size=Decimal(lots * 100),
            ask_size=Decimal(max(1, lots + rng.randint(-2, 2)) * 100),
        )
        state.quote = quote

        buy = rng.random() < 0.5
        price = ask if buy else bid
        expected = self.shares_per_second * self.step_seconds * weight
        size = Decimal(max(1, round(expected * rng.lognormvariate(0.0, 0.5))))
        trade = TradePrinted(symbol=symbol, source=self.source, ts_event=at, price=price, size=size)

        events: list[Event] = [quote, trade]
        closed = self._add_to_bar(symbol, state, minute, price, size)
        if closed is not None:
            events.append(closed)
        return events

    def _maybe_switch_regime(self, state: _Symbol) -> None:
        regime = self.regimes[state.regime]
        switch_probability = 1 - math.exp(-self.step_seconds / regime.mean_duration_seconds)
        if len(self.regimes) > 1 and state.rng.random() < switch_probability:
            others = [i for i in range(len(self.regimes)) if i != state.regime]
            state.regime = state.rng.choice(others)

    def _add_to_bar(
        self, symbol: str, state: _Symbol, minute: datetime, price: Decimal, size: Decimal
    ) -> BarClosed | None:
        bar = state.bar
        if bar is not None and minute == bar.ts_open:
            bar.add(price, size)
            return None
        closed = None
        if bar is not None and minute > bar.ts_open:
            closed = BarClosed(
                symbol=symbol,
                source=self.source,
                timeframe="1Min",
                ts_open=bar.ts_open,
                ts_event=bar.ts_open + ONE_MINUTE,
                open=bar.open,
                high=bar.high,
                low=bar.low,
                close=bar.close,
                volume=bar.volume,
            )
            state.bars.append(closed)
        if bar is None or minute > bar.ts_open:
            state.bar = _Bar(minute, price, price, price, price, size)
        return closed

    # --- reads --------------------------------------------------------------------------------

    def regime(self, symbol: str) -> str:
        return self.regimes[self._state[symbol].regime].name

    def latest_quote(self, symbol: str) -> QuoteUpdated | None:
        state = self._state.get(symbol)
        return state.quote if state else None

    def latest_bar(self, symbol: str) -> BarClosed | None:
        state = self._state.get(symbol)
        return state.bars[-1] if state and state.bars else None

    def bars(self, symbol: str, start: datetime, end: datetime) -> list[BarClosed]:
        """Closed one-minute bars opening in [start, end) still held in memory."""
        state = self._state.get(symbol)
        if state is None:
            return []
        return [bar for bar in state.bars if start <= bar.ts_open < end]

    def knows(self, symbol: str) -> bool:
        return symbol in self._state
