"""Win/loss statistics over closed trades (Decimal) and over periodic returns (float)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest

from analytics.domain.errors import AnalyticsInputError
from analytics.domain.trades import (
    ClosedTrade,
    group_trades,
    pnl_by,
    trade_statistics,
    win_loss_stats,
)

T0 = datetime(2024, 3, 1, 15, 30, tzinfo=UTC)


def _trade(symbol: str, pnl: str, strategy: str = "momentum") -> ClosedTrade:
    return ClosedTrade(strategy_id=strategy, symbol=symbol, closed_at=T0, pnl=Decimal(pnl))


def test_trade_statistics_mixed_trades_gives_decimal_amounts_and_float_ratios() -> None:
    stats = trade_statistics([Decimal("100"), Decimal("-50"), Decimal("0"), Decimal("30.5")])
    assert (stats.trades, stats.wins, stats.losses, stats.breakeven) == (4, 2, 1, 1)
    assert stats.gross_profit == Decimal("130.5")
    assert stats.gross_loss == Decimal("-50")
    assert stats.net_pnl == Decimal("80.5")
    assert stats.avg_win == Decimal("65.25")
    assert stats.avg_loss == Decimal("-50")
    assert stats.expectancy == Decimal("80.5") / 3
    assert stats.win_rate == pytest.approx(2 / 3)
    assert stats.profit_factor == pytest.approx(2.61)


def test_trade_statistics_expectancy_is_win_rate_weighted_average() -> None:
    stats = trade_statistics([Decimal(x) for x in ("12.5", "-4", "7", "-9.25", "3")])
    assert stats.avg_win is not None
    assert stats.avg_loss is not None
    assert stats.expectancy is not None
    weighted = stats.win_rate * float(stats.avg_win) + (1 - stats.win_rate) * float(stats.avg_loss)
    assert float(stats.expectancy) == pytest.approx(weighted)


def test_trade_statistics_no_trades_are_undefined_not_zero() -> None:
    stats = trade_statistics([])
    assert stats.trades == 0
    assert math.isnan(stats.win_rate)
    assert math.isnan(stats.profit_factor)
    assert stats.avg_win is None
    assert stats.avg_loss is None
    assert stats.expectancy is None
    assert stats.net_pnl == Decimal(0)


def test_trade_statistics_only_winners_profit_factor_is_infinite() -> None:
    stats = trade_statistics([Decimal("5"), Decimal("7")])
    assert stats.profit_factor == math.inf
    assert stats.win_rate == 1.0
    assert stats.avg_loss is None


@pytest.mark.parametrize("pnl", [1.5, Decimal("NaN"), Decimal("Infinity"), "3"])
def test_trade_statistics_non_decimal_or_non_finite_pnl_raises(pnl: object) -> None:
    with pytest.raises(AnalyticsInputError, match="trade P&L #1"):
        trade_statistics([Decimal("1"), pnl])  # type: ignore[list-item]


def test_win_loss_stats_period_returns_exclude_flat_periods() -> None:
    stats = win_loss_stats(np.array([0.02, -0.01, 0.0, 0.01]))
    assert (stats.wins, stats.losses, stats.flat) == (2, 1, 1)
    assert stats.win_rate == pytest.approx(2 / 3)
    assert stats.profit_factor == pytest.approx(3.0)
    assert stats.avg_win == pytest.approx(0.015)
    assert stats.avg_loss == pytest.approx(-0.01)
    assert stats.expectancy == pytest.approx(0.02 / 3)


def test_win_loss_stats_all_flat_is_nan() -> None:
    stats = win_loss_stats(np.zeros(3))
    assert math.isnan(stats.win_rate)
    assert math.isnan(stats.profit_factor)
    assert math.isnan(stats.expectancy)


def test_closed_trade_naive_close_time_raises() -> None:
    with pytest.raises(AnalyticsInputError, match="no timezone"):
        ClosedTrade("s", "AAPL", datetime(2024, 1, 1), Decimal(1))  # noqa: DTZ001


def test_closed_trade_non_finite_pnl_raises() -> None:
    with pytest.raises(AnalyticsInputError, match="not finite"):
        ClosedTrade("s", "AAPL", T0, Decimal("NaN"))


def test_pnl_by_symbol_sums_and_orders_largest_first() -> None:
    trades = [
        _trade("MSFT", "-20"),
        _trade("AAPL", "10"),
        _trade("AAPL", "5.5"),
        _trade("BTC", "40"),
    ]
    assert pnl_by(trades, "symbol") == {
        "BTC": Decimal("40"),
        "AAPL": Decimal("15.5"),
        "MSFT": Decimal("-20"),
    }
    assert list(pnl_by(trades, "symbol")) == ["BTC", "AAPL", "MSFT"]


def test_group_trades_by_strategy_keys_sorted() -> None:
    trades = [_trade("A", "1", "trend"), _trade("B", "2", "carry"), _trade("C", "3", "trend")]
    groups = group_trades(trades, "strategy")
    assert list(groups) == ["carry", "trend"]
    assert [trade.symbol for trade in groups["trend"]] == ["A", "C"]
