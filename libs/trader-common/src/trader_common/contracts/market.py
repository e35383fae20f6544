"""market.events: quotes, trades and bars, keyed by symbol."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field, model_validator

from .base import Event, Topic


class _MarketEvent(Event):
    topic: ClassVar[Topic] = Topic.MARKET
    partition_field: ClassVar[str] = "symbol"

    symbol: str = Field(min_length=1, max_length=32, pattern=r"^[A-Z0-9./:-]+$")
    source: str = Field(min_length=1, description="Feed or provider that produced it")


class QuoteUpdated(_MarketEvent):
    """The best bid and ask of a symbol changed."""

    event_name: ClassVar[str] = "market.quote"

    bid: Decimal = Field(gt=0)
    ask: Decimal = Field(gt=0)
    bid_size: Decimal = Field(ge=0)
    ask_size: Decimal = Field(ge=0)

    @model_validator(mode="after")
    def _not_crossed(self) -> QuoteUpdated:
        if self.bid > self.ask:
            raise ValueError(f"crossed quote: bid {self.bid} is above ask {self.ask}")
        return self


class TradePrinted(_MarketEvent):
    """A trade printed on the tape."""

    event_name: ClassVar[str] = "market.trade"

    price: Decimal = Field(gt=0)
    size: Decimal = Field(gt=0)


class BarClosed(_MarketEvent):
    """An OHLCV bar closed. ``ts_event`` is the bar's close time; ``ts_open`` its open time."""

    event_name: ClassVar[str] = "market.bar"

    timeframe: Literal["1Min", "5Min", "15Min", "1Hour", "1Day"]
    ts_open: AwareDatetime = Field(description="When the bar opened (UTC)")
    open: Decimal = Field(gt=0)
    high: Decimal = Field(gt=0)
    low: Decimal = Field(gt=0)
    close: Decimal = Field(gt=0)
    volume: Decimal = Field(ge=0)

    @model_validator(mode="after")
    def _consistent_range(self) -> BarClosed:
        if self.ts_open >= self.ts_event:
            raise ValueError(f"bar opens ({self.ts_open}) at or after it closes ({self.ts_event})")
        if not (self.low <= min(self.open, self.close) and self.high >= max(self.open, self.close)):
            raise ValueError(
                f"inconsistent bar: low {self.low} / high {self.high} do not bound "
                f"open {self.open} and close {self.close}"
            )
        return self
