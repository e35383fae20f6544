"""Market data as the domain sees it (the service converts the contract events)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from .numbers import ZERO


@dataclass(frozen=True, slots=True)
class Quote:
    symbol: str
    bid: Decimal
    ask: Decimal
    bid_size: Decimal
    ask_size: Decimal
    ts: datetime
    event_id: UUID

    def __post_init__(self) -> None:
        if self.bid <= ZERO or self.ask <= ZERO:
            raise ValueError(f"{self.symbol} quote needs positive prices: {self.bid}/{self.ask}")
        if self.bid > self.ask:
            raise ValueError(f"{self.symbol} quote is crossed: bid {self.bid} > ask {self.ask}")

    @property
    def mid(self) -> Decimal:
        return (self.bid + self.ask) / 2


@dataclass(frozen=True, slots=True)
class Bar:
    symbol: str
    timeframe: str
    ts_open: datetime
    ts_close: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    event_id: UUID

    def __post_init__(self) -> None:
        if self.ts_open >= self.ts_close:
            raise ValueError(f"{self.symbol} bar opens at or after it closes")
        if not (self.low <= min(self.open, self.close) and self.high >= max(self.open, self.close)):
            raise ValueError(
                f"{self.symbol} bar is inconsistent: low {self.low} / high {self.high} do not "
                f"bound open {self.open} and close {self.close}"
            )
        if self.low <= ZERO or self.volume < ZERO:
            raise ValueError(f"{self.symbol} bar needs positive prices and volume >= 0")
