"""PerformanceService over in-memory fakes of its ports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from analytics.domain import metrics as m
from analytics.domain.errors import AnalyticsInputError, NoDataError
from analytics.domain.points import EquityPoint, PricePoint
from analytics.domain.trades import ClosedTrade, trade_statistics
from analytics.service.performance import PerformanceService
from analytics.service.ports import ChartFormat, PerformanceQuery

DAY0 = datetime(2024, 1, 1, 20, 0, tzinfo=UTC)
EQUITY = [100.0, 102.0, 101.0, 99.0, 103.0, 104.0, 102.5, 106.0, 107.0, 105.0]
POSITIONS = [0, 50, 50, 0, 0, 60, 60, 60, 0, 0]


def _points(values: Sequence[float], positions: Sequence[int] | None = None) -> list[EquityPoint]:
    positions = positions if positions is not None else [0] * len(values)
    return [
        EquityPoint(DAY0 + timedelta(days=day), Decimal(str(value)), Decimal(position))
        for day, (value, position) in enumerate(zip(values, positions, strict=True))
    ]


def _in_range(moment: datetime, query: PerformanceQuery) -> bool:
    return (query.start is None or moment >= query.start) and (
        query.end is None or moment <= query.end
    )


@dataclass
class FakeEquity:
    curves: dict[tuple[str | None, str | None], list[EquityPoint]]
    honour_range: bool = True
    queries: list[PerformanceQuery] = field(default_factory=list)

    async def equity_curve(self, query: PerformanceQuery) -> Sequence[EquityPoint]:
        self.queries.append(query)
        points = self.curves.get((query.strategy_id, query.symbol), [])
        if not self.honour_range:
            return points
        return [point for point in points if _in_range(point.at, query)]


@dataclass
class FakeTrades:
    trades: list[ClosedTrade]

    async def closed_trades(self, query: PerformanceQuery) -> Sequence[ClosedTrade]:
        return [
            trade
            for trade in self.trades
            if _in_range(trade.closed_at, query)
            and query.strategy_id in (None, trade.strategy_id)
            and query.symbol in (None, trade.symbol)
        ]


@dataclass
class FakeBenchmarks:
    prices: dict[str, list[PricePoint]]

    async def closes(
        self, symbol: str, start: datetime | None, end: datetime | None
    ) -> Sequence[PricePoint]:
        return [point for point in self.prices.get(symbol, []) if (end is None or point.at <= end)]


@dataclass
class FakeCharts:
    calls: list[tuple[str, object, str, str]] = field(default_factory=list)

    def equity_curve(self, equity: pd.Series, *, title: str, fmt: ChartFormat) -> bytes:
        self.calls.append(("equity", equity, title, fmt))
        return b"equity"

    def monthly_returns(self, table: pd.DataFrame, *, title: str, fmt: ChartFormat) -> bytes:
        self.calls.append(("monthly", table, title, fmt))
        return b"monthly"

    def pnl_by_symbol(self, pnl: Mapping[str, Decimal], *, title: str, fmt: ChartFormat) -> bytes:
        self.calls.append(("pnl", pnl, title, fmt))
        return b"pnl"


TRADES = [
    ClosedTrade("trend", "AAPL", DAY0 + timedelta(days=2), Decimal("20.5")),
    ClosedTrade("trend", "MSFT", DAY0 + timedelta(days=4), Decimal("-8")),
    ClosedTrade("carry", "AAPL", DAY0 + timedelta(days=7), Decimal("12")),
    ClosedTrade("carry", "BTC", DAY0 + timedelta(days=9), Decimal("-3.25")),
]
QUERY = PerformanceQuery(account_id="paper-1")


def _service(
    *,
    curves: dict[tuple[str | None, str | None], list[EquityPoint]] | None = None,
    benchmarks: FakeBenchmarks | None = None,
    charts: FakeCharts | None = None,
    honour_range: bool = True,
) -> PerformanceService:
    return PerformanceService(
        FakeEquity(
            curves if curves is not None else {(None, None): _points(EQUITY, POSITIONS)},
            honour_range,
        ),
        FakeTrades(TRADES),
        benchmarks=benchmarks,
        charts=charts,
        periods_per_year=252,
        risk_free_annual=0.03,
    )


async def test_report_whole_history_metrics_trades_and_exposure_from_positions() -> None:
    report = await _service().report(QUERY)
    expected = m.compute_metrics(
        m.returns_from_equity(EQUITY),
        periods_per_year=252,
        risk_free_annual=0.03,
        in_market=np.asarray(POSITIONS[:-1]) != 0,
    )
    assert report.metrics == expected
    assert report.metrics.exposure == pytest.approx(5 / 9)
    assert report.metrics.exposure_basis == "positions"
    assert report.trades == trade_statistics(trade.pnl for trade in TRADES)
    assert report.first == DAY0
    assert report.last == DAY0 + timedelta(days=9)


@pytest.mark.parametrize("honour_range", [True, False])
async def test_report_time_range_restricts_curve_and_trades(honour_range: bool) -> None:
    query = PerformanceQuery(
        "paper-1", start=DAY0 + timedelta(days=2), end=DAY0 + timedelta(days=6)
    )
    report = await _service(honour_range=honour_range).report(query)
    assert report.metrics.periods == 4
    assert report.metrics.total_return == pytest.approx(EQUITY[6] / EQUITY[2] - 1)
    assert report.metrics.exposure == pytest.approx(2 / 4)  # positions at days 2, 3, 4, 5
    assert report.trades.trades == 2


async def test_report_benchmark_uses_last_close_before_each_snapshot() -> None:
    closes = [101.0, 100.0, 100.5, 99.0, 102.0, 102.0, 101.0, 104.0, 104.5, 103.0]
    prices = [
        PricePoint(DAY0 - timedelta(hours=4) + timedelta(days=day), Decimal(str(close)))
        for day, close in enumerate(closes)
    ]
    service = _service(benchmarks=FakeBenchmarks({"SPY": prices}))
    report = await service.report(QUERY, benchmark_symbol="SPY")
    alpha, beta = m.alpha_beta(
        m.returns_from_equity(EQUITY),
        m.returns_from_equity(closes),
        m.per_period_rate(0.03, 252),
        252,
    )
    assert report.metrics.beta == pytest.approx(beta)
    assert report.metrics.alpha == pytest.approx(alpha)
    assert report.benchmark_symbol == "SPY"
    assert report.benchmark_periods == 9


async def test_report_benchmark_starting_late_uses_covered_points_only() -> None:
    prices = [
        PricePoint(DAY0 + timedelta(days=day, hours=-1), Decimal(str(100 + day)))
        for day in range(5, 10)
    ]
    report = await _service(benchmarks=FakeBenchmarks({"SPY": prices})).report(
        QUERY, benchmark_symbol="SPY"
    )
    assert report.benchmark_periods == 4
    assert report.metrics.periods == 9


async def test_report_benchmark_without_prices_raises_no_data() -> None:
    with pytest.raises(NoDataError, match="no prices for benchmark 'QQQ'"):
        await _service(benchmarks=FakeBenchmarks({})).report(QUERY, benchmark_symbol="QQQ")


async def test_report_benchmark_without_source_raises() -> None:
    with pytest.raises(AnalyticsInputError, match="no benchmark source"):
        await _service().report(QUERY, benchmark_symbol="SPY")


@pytest.mark.parametrize("points", [[], _points([100.0])])
async def test_report_fewer_than_two_points_raises_no_data(points: list[EquityPoint]) -> None:
    with pytest.raises(NoDataError, match=f"account paper-1: {len(points)} equity point"):
        await _service(curves={(None, None): points}).report(QUERY)


@pytest.mark.parametrize(("by", "count"), [("day", 9), ("week", 2), ("month", 1)])
async def test_breakdown_by_period_compounds_returns(by: str, count: int) -> None:
    rows = await _service().breakdown(QUERY, by)  # type: ignore[arg-type]
    assert len(rows) == count
    total = np.prod([1 + (row.period_return or 0.0) for row in rows]) - 1
    assert total == pytest.approx(EQUITY[-1] / EQUITY[0] - 1)
    assert all(row.trades is None for row in rows)


async def test_breakdown_by_week_labels_are_mondays() -> None:
    rows = await _service().breakdown(QUERY, "week")
    assert [row.key for row in rows] == ["2024-01-01", "2024-01-08"]


async def test_breakdown_by_strategy_trade_stats_and_metrics_when_curve_exists() -> None:
    curves: dict[tuple[str | None, str | None], list[EquityPoint]] = {
        (None, None): _points(EQUITY),
        ("trend", None): _points([50.0, 51.0, 50.5, 52.0]),
    }
    rows = await _service(curves=curves).breakdown(QUERY, "strategy")
    assert [row.key for row in rows] == ["carry", "trend"]
    carry, trend = rows
    assert carry.trades is not None
    assert carry.trades.net_pnl == Decimal("8.75")
    assert carry.metrics is None  # no equity curve attributed to "carry"
    assert trend.metrics is not None
    assert trend.metrics.total_return == pytest.approx(0.04)


async def test_breakdown_by_symbol_groups_trades() -> None:
    rows = await _service().breakdown(QUERY, "symbol")
    assert {row.key: row.trades.net_pnl for row in rows if row.trades} == {
        "AAPL": Decimal("32.5"),
        "BTC": Decimal("-3.25"),
        "MSFT": Decimal("-8"),
    }


async def test_breakdown_unknown_key_raises() -> None:
    with pytest.raises(AnalyticsInputError, match="unknown breakdown 'year'"):
        await _service().breakdown(QUERY, "year")  # type: ignore[arg-type]


async def test_drawdowns_table_of_the_curve() -> None:
    periods = await _service().drawdowns(QUERY)
    assert [round(period.depth, 6) for period in periods] == [
        round(99 / 102 - 1, 6),
        round(102.5 / 104 - 1, 6),
        round(105 / 107 - 1, 6),
    ]
    assert (await _service().drawdowns(QUERY, top=1))[0].depth == pytest.approx(99 / 102 - 1)


async def test_rolling_returns_sharpe_and_volatility_series() -> None:
    stats = await _service().rolling(QUERY, window=3)
    assert stats.window == 3
    assert len(stats.sharpe) == len(stats.volatility) == 9
    assert stats.sharpe.isna().sum() == 2


async def test_rolling_window_too_long_raises() -> None:
    with pytest.raises(AnalyticsInputError, match="longer than the 9 periods"):
        await _service().rolling(QUERY, window=10)


@pytest.mark.parametrize(
    ("kind", "call"),
    [("equity", "equity"), ("monthly_returns", "monthly"), ("pnl_by_symbol", "pnl")],
)
async def test_chart_renders_with_the_port(kind: str, call: str) -> None:
    charts = FakeCharts()
    image = await _service(charts=charts).chart(QUERY, kind, "svg")  # type: ignore[arg-type]
    assert image == call.encode()
    assert [(name, title, fmt) for name, _, title, fmt in charts.calls] == [
        (call, "account paper-1", "svg")
    ]


async def test_chart_pnl_by_symbol_passes_decimal_totals() -> None:
    charts = FakeCharts()
    await _service(charts=charts).chart(QUERY, "pnl_by_symbol", "png")
    assert charts.calls[0][1] == {
        "AAPL": Decimal("32.5"),
        "BTC": Decimal("-3.25"),
        "MSFT": Decimal("-8"),
    }


async def test_chart_pnl_by_symbol_without_trades_raises_no_data() -> None:
    query = PerformanceQuery("paper-1", end=DAY0)
    with pytest.raises(NoDataError, match="no closed trades"):
        await _service(charts=FakeCharts()).chart(query, "pnl_by_symbol", "png")


async def test_chart_unknown_kind_or_format_raises() -> None:
    service = _service(charts=FakeCharts())
    with pytest.raises(AnalyticsInputError, match="unknown chart 'pie'"):
        await service.chart(QUERY, "pie", "png")  # type: ignore[arg-type]
    with pytest.raises(AnalyticsInputError, match="unknown chart format 'gif'"):
        await service.chart(QUERY, "equity", "gif")  # type: ignore[arg-type]


async def test_chart_without_renderer_raises() -> None:
    with pytest.raises(AnalyticsInputError, match="no chart renderer"):
        await _service().chart(QUERY, "equity", "png")


def test_performance_query_bad_values_raise() -> None:
    with pytest.raises(AnalyticsInputError, match="account_id"):
        PerformanceQuery("")
    with pytest.raises(AnalyticsInputError, match=r"start .* no timezone"):
        PerformanceQuery("a", start=datetime(2024, 1, 1))  # noqa: DTZ001
    with pytest.raises(AnalyticsInputError, match="is after end"):
        PerformanceQuery("a", start=DAY0, end=DAY0 - timedelta(days=1))


def test_performance_query_narrowed_keeps_other_filters() -> None:
    query = PerformanceQuery("a", start=DAY0, strategy_id="trend").narrowed(symbol="AAPL")
    assert (query.start, query.strategy_id, query.symbol) == (DAY0, "trend", "AAPL")


def test_performance_service_bad_risk_free_raises() -> None:
    with pytest.raises(AnalyticsInputError, match="risk-free"):
        PerformanceService(FakeEquity({}), FakeTrades([]), risk_free_annual=-3.0)


def test_equity_point_naive_time_raises() -> None:
    with pytest.raises(AnalyticsInputError, match="no timezone"):
        EquityPoint(datetime(2024, 1, 1), Decimal(1))  # noqa: DTZ001


def test_price_point_non_positive_price_raises() -> None:
    with pytest.raises(AnalyticsInputError, match="must be positive"):
        PricePoint(DAY0, Decimal(0))
