"""Use cases over the account's own history: the metric set, breakdowns by strategy, symbol,
day, week and month, the drawdown table, rolling statistics and charts. The REST API and the
read model plug in through the ports; nothing here knows about HTTP or SQL."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

import numpy as np
import pandas as pd

from analytics.domain.errors import AnalyticsInputError, NoDataError
from analytics.domain.history import (
    DrawdownPeriod,
    Frequency,
    drawdown_periods,
    monthly_returns_table,
    period_returns,
    returns_of_equity,
    rolling_sharpe,
    rolling_volatility,
    slice_range,
)
from analytics.domain.metrics import (
    EQUITY_PERIODS_PER_YEAR,
    PerformanceMetrics,
    alpha_beta,
    compute_metrics,
    per_period_rate,
)
from analytics.domain.points import equity_series, price_series
from analytics.domain.trades import (
    ClosedTrade,
    TradeStats,
    group_trades,
    pnl_by,
    trade_statistics,
)

from .ports import (
    CHART_FORMATS,
    BenchmarkSource,
    ChartFormat,
    ChartRenderer,
    EquityCurveSource,
    PerformanceQuery,
    TradeHistory,
)

BreakdownKey = Literal["strategy", "symbol", "day", "week", "month"]
BREAKDOWNS: tuple[BreakdownKey, ...] = ("strategy", "symbol", "day", "week", "month")
ChartKind = Literal["equity", "monthly_returns", "pnl_by_symbol"]
CHART_KINDS: tuple[ChartKind, ...] = ("equity", "monthly_returns", "pnl_by_symbol")
_FREQUENCY_OF: dict[str, Frequency] = {"day": "day", "week": "week", "month": "month"}


@dataclass(frozen=True, slots=True)
class PerformanceReport:
    query: PerformanceQuery
    first: datetime
    last: datetime
    metrics: PerformanceMetrics
    trades: TradeStats
    benchmark_symbol: str | None = None
    benchmark_periods: int | None = None


@dataclass(frozen=True, slots=True)
class BreakdownRow:
    """One group of a breakdown. By strategy or symbol: the group's trade statistics and, when
    the read model has an equity curve for it, its metrics. By day, week or month: the
    period's compounded return (``key`` is the period's first day, ISO format)."""

    key: str
    period_return: float | None = None
    trades: TradeStats | None = None
    metrics: PerformanceMetrics | None = None


@dataclass(frozen=True, slots=True)
class RollingStats:
    window: int
    sharpe: pd.Series
    volatility: pd.Series


class PerformanceService:
    def __init__(
        self,
        equity: EquityCurveSource,
        trades: TradeHistory,
        *,
        benchmarks: BenchmarkSource | None = None,
        charts: ChartRenderer | None = None,
        periods_per_year: float = EQUITY_PERIODS_PER_YEAR,
        risk_free_annual: float = 0.0,
    ) -> None:
        per_period_rate(risk_free_annual, periods_per_year)  # validates both
        self._equity = equity
        self._trades = trades
        self._benchmarks = benchmarks
        self._charts = charts
        self._periods_per_year = periods_per_year
        self._risk_free_annual = risk_free_annual

    async def _curve(self, query: PerformanceQuery) -> tuple[pd.Series, np.ndarray]:
        points = await self._equity.equity_curve(query)
        curve, in_market = equity_series(points)
        kept = slice_range(curve, query.start, query.end)
        if len(kept) != len(curve):  # the source ignored part of the range: keep flags aligned
            mask = curve.index.isin(kept.index)
            in_market = in_market[mask[:-1] & mask[1:]]
            curve = kept
        if len(curve) < 2:
            raise NoDataError(f"{_describe(query)}: {len(curve)} equity point(s) in range, need 2")
        return curve, in_market

    def _metrics(self, curve: pd.Series, in_market: np.ndarray) -> PerformanceMetrics:
        return compute_metrics(
            returns_of_equity(curve).to_numpy(),
            periods_per_year=self._periods_per_year,
            risk_free_annual=self._risk_free_annual,
            in_market=in_market,
        )

    async def report(
        self, query: PerformanceQuery, *, benchmark_symbol: str | None = None
    ) -> PerformanceReport:
        """The metric set over the query's equity curve, trade statistics over its closed
        trades, and with a benchmark symbol alpha and beta against it."""
        curve, in_market = await self._curve(query)
        metrics = self._metrics(curve, in_market)
        trades = await self._trades.closed_trades(query)
        benchmark_periods: int | None = None
        if benchmark_symbol is not None:
            alpha, beta, benchmark_periods = await self._alpha_beta(curve, benchmark_symbol)
            metrics = replace(metrics, alpha=alpha, beta=beta)
        return PerformanceReport(
            query=query,
            first=curve.index[0].to_pydatetime(),
            last=curve.index[-1].to_pydatetime(),
            metrics=metrics,
            trades=trade_statistics(trade.pnl for trade in trades),
            benchmark_symbol=benchmark_symbol,
            benchmark_periods=benchmark_periods,
        )

    async def _alpha_beta(self, curve: pd.Series, symbol: str) -> tuple[float, float, int]:
        if self._benchmarks is None:
            raise AnalyticsInputError("no benchmark source is configured")
        if not symbol.strip():
            raise AnalyticsInputError("benchmark symbol must not be empty")
        index = curve.index
        closes = await self._benchmarks.closes(
            symbol, index[0].to_pydatetime(), index[-1].to_pydatetime()
        )
        if not closes:
            raise NoDataError(f"no prices for benchmark {symbol!r} in the equity curve's range")
        # The benchmark's last close at or before each equity snapshot.
        prices = price_series(closes, symbol).reindex(index, method="ffill")
        covered = prices.notna().to_numpy()
        if covered.sum() < 3:
            raise NoDataError(
                f"benchmark {symbol!r} has prices for {int(covered.sum())} of the equity curve's "
                "points: at least 3 are needed for two return periods"
            )
        mine = returns_of_equity(curve[covered]).to_numpy()
        theirs = returns_of_equity(prices[covered]).to_numpy()
        rf = per_period_rate(self._risk_free_annual, self._periods_per_year)
        alpha, beta = alpha_beta(mine, theirs, rf, self._periods_per_year)
        return alpha, beta, len(mine)

    async def breakdown(self, query: PerformanceQuery, by: BreakdownKey) -> list[BreakdownRow]:
        """Results split by strategy, symbol, day, week or month."""
        frequency = _FREQUENCY_OF.get(by)
        if frequency is not None:
            curve, _ = await self._curve(query)
            returns = period_returns(returns_of_equity(curve), frequency)
            return [
                BreakdownRow(key=label.date().isoformat(), period_return=float(value))
                for label, value in returns.items()
            ]
        if by not in ("strategy", "symbol"):
            raise AnalyticsInputError(
                f"unknown breakdown {by!r}: expected one of {', '.join(BREAKDOWNS)}"
            )
        trades = await self._trades.closed_trades(query)
        rows: list[BreakdownRow] = []
        for key, group in group_trades(
            trades, "strategy" if by == "strategy" else "symbol"
        ).items():
            narrowed = (
                query.narrowed(strategy_id=key) if by == "strategy" else query.narrowed(symbol=key)
            )
            rows.append(
                BreakdownRow(
                    key=key,
                    trades=trade_statistics(trade.pnl for trade in group),
                    metrics=await self._optional_metrics(narrowed),
                )
            )
        return rows

    async def _optional_metrics(self, query: PerformanceQuery) -> PerformanceMetrics | None:
        try:
            curve, in_market = await self._curve(query)
        except NoDataError:
            return None
        return self._metrics(curve, in_market)

    async def drawdowns(
        self, query: PerformanceQuery, *, top: int | None = None
    ) -> list[DrawdownPeriod]:
        """The drawdown table: every drawdown in time order, or the ``top`` deepest."""
        curve, _ = await self._curve(query)
        return drawdown_periods(curve, top)

    async def rolling(self, query: PerformanceQuery, *, window: int) -> RollingStats:
        """Rolling Sharpe and volatility over a trailing window of periods."""
        curve, _ = await self._curve(query)
        returns = returns_of_equity(curve)
        return RollingStats(
            window=window,
            sharpe=rolling_sharpe(returns, window, self._periods_per_year, self._risk_free_annual),
            volatility=rolling_volatility(returns, window, self._periods_per_year),
        )

    async def chart(self, query: PerformanceQuery, kind: ChartKind, fmt: ChartFormat) -> bytes:
        """A chart as PNG or SVG bytes (rendered in a worker thread: it is CPU-bound)."""
        if self._charts is None:
            raise AnalyticsInputError("no chart renderer is configured")
        if fmt not in CHART_FORMATS:
            raise AnalyticsInputError(
                f"unknown chart format {fmt!r}: expected one of {', '.join(CHART_FORMATS)}"
            )
        title = _describe(query)
        charts = self._charts
        if kind == "equity":
            curve, _ = await self._curve(query)
            return await asyncio.to_thread(charts.equity_curve, curve, title=title, fmt=fmt)
        if kind == "monthly_returns":
            curve, _ = await self._curve(query)
            table = monthly_returns_table(returns_of_equity(curve))
            return await asyncio.to_thread(charts.monthly_returns, table, title=title, fmt=fmt)
        if kind == "pnl_by_symbol":
            trades: Sequence[ClosedTrade] = await self._trades.closed_trades(query)
            if not trades:
                raise NoDataError(f"{title}: no closed trades in range")
            pnl = pnl_by(trades, "symbol")
            return await asyncio.to_thread(charts.pnl_by_symbol, pnl, title=title, fmt=fmt)
        raise AnalyticsInputError(
            f"unknown chart {kind!r}: expected one of {', '.join(CHART_KINDS)}"
        )


def _describe(query: PerformanceQuery) -> str:
    parts = [f"account {query.account_id}"]
    if query.strategy_id:
        parts.append(f"strategy {query.strategy_id}")
    if query.symbol:
        parts.append(f"symbol {query.symbol}")
    return ", ".join(parts)
