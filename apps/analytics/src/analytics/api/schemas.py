"""Response bodies of the analytics API (they make the OpenAPI document). Money and quantities
are decimal strings; ratios and statistics are numbers, ``null`` where undefined (NaN or
infinite — e.g. a Sortino ratio with no downside)."""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field

from analytics.domain.history import DrawdownPeriod
from analytics.domain.metrics import PerformanceMetrics
from analytics.domain.trades import TradeStats
from analytics.domain.valuation import ValuedPoint
from analytics.service.ports import PerformanceQuery


def finite(value: float | None) -> float | None:
    """``value`` if it is a finite number, else ``None`` (JSON has no NaN or infinity)."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


class ErrorBody(BaseModel):
    error: str = Field(examples=["not found"])
    detail: str = Field(examples=["unknown strategy 'momo' in account 'paper': no fills recorded"])


Responses = dict[int | str, dict[str, Any]]
NOT_FOUND: Responses = {
    404: {
        "model": ErrorBody,
        "description": "Unknown account, strategy or symbol, or no data in range",
    }
}
INVALID: Responses = {
    422: {"model": ErrorBody, "description": "Bad parameter or range (the detail says which)"}
}
UNAVAILABLE: Responses = {503: {"model": ErrorBody, "description": "The database is unavailable"}}
ERRORS: Responses = {**NOT_FOUND, **INVALID, **UNAVAILABLE}


class ScopeBody(BaseModel):
    account_id: str
    strategy_id: str | None = None
    symbol: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    @classmethod
    def of(cls, query: PerformanceQuery) -> ScopeBody:
        return cls(
            account_id=query.account_id,
            strategy_id=query.strategy_id,
            symbol=query.symbol,
            start=query.start,
            end=query.end,
        )


class MetricsBody(BaseModel):
    """The metric set over the daily returns (definitions: docs/analytics-metrics.md)."""

    periods: int
    periods_per_year: float
    risk_free_annual: float
    total_return: float | None
    cagr: float | None
    annual_volatility: float | None
    sharpe: float | None
    sortino: float | None
    calmar: float | None
    max_drawdown: float | None
    max_drawdown_duration: int = Field(description="Periods (days)")
    win_rate: float | None = Field(description="Over periods")
    profit_factor: float | None
    avg_win: float | None
    avg_loss: float | None
    expectancy: float | None
    exposure: float | None = Field(description="Share of periods starting with an open position")
    exposure_basis: Literal["positions", "nonzero_returns"]
    alpha: float | None = None
    beta: float | None = None

    @classmethod
    def of(cls, metrics: PerformanceMetrics) -> MetricsBody:
        values = metrics.as_dict()
        return cls.model_validate(
            {
                key: finite(value) if isinstance(value, float) else value
                for key, value in values.items()
            }
        )


class TradeStatsBody(BaseModel):
    """Win/loss figures over closed round trips (P&L net of fees)."""

    trades: int
    wins: int
    losses: int
    breakeven: int
    gross_profit: Decimal
    gross_loss: Decimal
    net_pnl: Decimal
    win_rate: float | None
    profit_factor: float | None
    avg_win: Decimal | None
    avg_loss: Decimal | None
    expectancy: Decimal | None

    @classmethod
    def of(cls, stats: TradeStats) -> TradeStatsBody:
        return cls(
            trades=stats.trades,
            wins=stats.wins,
            losses=stats.losses,
            breakeven=stats.breakeven,
            gross_profit=stats.gross_profit,
            gross_loss=stats.gross_loss,
            net_pnl=stats.net_pnl,
            win_rate=finite(stats.win_rate),
            profit_factor=finite(stats.profit_factor),
            avg_win=stats.avg_win,
            avg_loss=stats.avg_loss,
            expectancy=stats.expectancy,
        )


class BenchmarkBody(BaseModel):
    symbol: str
    periods: int = Field(description="Return periods shared with the benchmark")


class MetricsResponse(BaseModel):
    scope: ScopeBody
    resolution: Literal["day"] = "day"
    first: datetime = Field(description="First daily point (the day's close, UTC)")
    last: datetime
    metrics: MetricsBody
    trades: TradeStatsBody
    benchmark: BenchmarkBody | None = None


class EquityPointBody(BaseModel):
    at: datetime = Field(description="The moment (event resolution) or the day's close (daily)")
    equity: Decimal
    cash: Decimal
    long_value: Decimal
    short_value: Decimal = Field(description="Market value of short positions (zero or negative)")
    gross_exposure: Decimal = Field(description="long_value - short_value")
    net_exposure: Decimal = Field(description="long_value + short_value")
    exposure: float | None = Field(description="gross_exposure / equity")
    realized_pnl: Decimal = Field(description="Cumulative, before fees")
    unrealized_pnl: Decimal
    fees: Decimal = Field(description="Cumulative")

    @classmethod
    def of(cls, point: ValuedPoint) -> EquityPointBody:
        return cls(
            at=point.at,
            equity=point.equity,
            cash=point.cash,
            long_value=point.long_value,
            short_value=point.short_value,
            gross_exposure=point.gross_value,
            net_exposure=point.net_value,
            exposure=finite(float(point.gross_value / point.equity)) if point.equity else None,
            realized_pnl=point.realized,
            unrealized_pnl=point.unrealized,
            fees=point.fees,
        )


class EquityResponse(BaseModel):
    scope: ScopeBody
    resolution: Literal["event", "day"]
    points: list[EquityPointBody]
    next_page_token: str | None = Field(description="Pass as page_token for the next page")


class PnlRowBody(BaseModel):
    key: str = Field(description="Symbol, strategy, or the period's first day (ISO date)")
    first_day: date
    last_day: date
    realized_pnl: Decimal = Field(description="Realised in the period, before fees")
    fees: Decimal
    unrealized_pnl: Decimal = Field(description="At the end of the period")
    net_pnl: Decimal = Field(description="realized - fees + change in unrealised")
    turnover: Decimal = Field(description="Sum of |fill qty × fill price|")
    fills: int
    period_return: float | None = Field(
        default=None, description="Compounded return of the period (day, week, month)"
    )
    trades: TradeStatsBody | None = Field(
        default=None, description="Closed round trips of the symbol or strategy"
    )
    metrics: MetricsBody | None = Field(
        default=None, description="Metrics of the symbol's or strategy's own curve"
    )


class PnlResponse(BaseModel):
    scope: ScopeBody
    by: Literal["symbol", "strategy", "day", "week", "month"]
    rows: list[PnlRowBody]


class DrawdownBody(BaseModel):
    peak: datetime
    trough: datetime
    recovery: datetime | None = Field(description="null while still under water")
    depth: float = Field(description="Negative fraction at the trough")
    periods: int = Field(description="Days closed under water")
    duration_seconds: float = Field(description="From the peak to the recovery (or last point)")

    @classmethod
    def of(cls, period: DrawdownPeriod) -> DrawdownBody:
        return cls(
            peak=period.peak,
            trough=period.trough,
            recovery=period.recovery,
            depth=period.depth,
            periods=period.periods,
            duration_seconds=period.duration.total_seconds(),
        )


class DrawdownsResponse(BaseModel):
    scope: ScopeBody
    drawdowns: list[DrawdownBody]


class RollingPointBody(BaseModel):
    at: datetime
    sharpe: float | None
    volatility: float | None


class RollingResponse(BaseModel):
    scope: ScopeBody
    window: int
    points: list[RollingPointBody]


class RebuildResponse(BaseModel):
    events: int = Field(description="Events in the log")
    applied: int
    skipped: int = Field(description="Events that could not be decoded any more")
