"""What the analytics use cases need from the outside. The PostgreSQL read model (fed by the
fill and position events), a market-data client and the chart renderer implement these; tests
use in-memory fakes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal, Protocol

import pandas as pd

from analytics.domain.errors import AnalyticsInputError
from analytics.domain.points import EquityPoint, PricePoint
from analytics.domain.trades import ClosedTrade

ChartFormat = Literal["png", "svg"]
CHART_FORMATS: tuple[ChartFormat, ...] = ("png", "svg")


@dataclass(frozen=True, slots=True)
class PerformanceQuery:
    """Which results to analyse: an account, optionally one strategy and/or one symbol, over a
    time range (either bound may be open; both inclusive; timezone-aware)."""

    account_id: str
    start: datetime | None = None
    end: datetime | None = None
    strategy_id: str | None = None
    symbol: str | None = None

    def __post_init__(self) -> None:
        if not self.account_id:
            raise AnalyticsInputError("account_id must not be empty")
        for name, moment in (("start", self.start), ("end", self.end)):
            if moment is None:
                continue
            if moment.tzinfo is None or moment.utcoffset() is None:
                raise AnalyticsInputError(
                    f"{name} {moment.isoformat()} has no timezone: times must be timezone-aware"
                )
            try:
                moment.astimezone(UTC)
            except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00
                raise AnalyticsInputError(
                    f"{name} {moment.isoformat()} is outside years 1-9999 in UTC"
                ) from None
        if self.start is not None and self.end is not None and self.start > self.end:
            raise AnalyticsInputError(
                f"start {self.start.isoformat()} is after end {self.end.isoformat()}"
            )

    def narrowed(
        self, *, strategy_id: str | None = None, symbol: str | None = None
    ) -> PerformanceQuery:
        """The same query restricted to one strategy and/or symbol."""
        return replace(
            self,
            strategy_id=strategy_id if strategy_id is not None else self.strategy_id,
            symbol=symbol if symbol is not None else self.symbol,
        )


class EquityCurveSource(Protocol):
    """Equity snapshots in time order. With ``strategy_id``/``symbol`` set, the equity
    attributed to that strategy/symbol (an empty sequence if the read model has none)."""

    async def equity_curve(self, query: PerformanceQuery) -> Sequence[EquityPoint]: ...


class TradeHistory(Protocol):
    """Closed round trips with their realised P&L (Decimal, net of fees), in the query's range
    (by closing time) and filters."""

    async def closed_trades(self, query: PerformanceQuery) -> Sequence[ClosedTrade]: ...


class BenchmarkSource(Protocol):
    """Closing prices of a benchmark symbol (e.g. SPY, BTC-USD) in time order."""

    async def closes(
        self, symbol: str, start: datetime | None, end: datetime | None
    ) -> Sequence[PricePoint]: ...


class ChartRenderer(Protocol):
    """Server-side charts as image bytes (PNG or SVG)."""

    def equity_curve(self, equity: pd.Series, *, title: str, fmt: ChartFormat) -> bytes: ...

    def monthly_returns(self, table: pd.DataFrame, *, title: str, fmt: ChartFormat) -> bytes: ...

    def pnl_by_symbol(
        self, pnl: Mapping[str, Decimal], *, title: str, fmt: ChartFormat
    ) -> bytes: ...
