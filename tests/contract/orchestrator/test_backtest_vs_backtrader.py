"""Oracle: sma-cross through our backtester (bars -> the real TradingEngine) and through
backtrader 1.9 (market orders at the next bar's open, cheat-on-open/close off, no commission)
give the same fills - date, symbol, side, quantity, price - and the same final equity to the
cent, on real daily data and on synthetic multi-symbol data."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from bench.backtest_sma_cross import run_backtrader, run_ours, synthetic_series
from orchestrator.backtest.bars import BarSeries, read_bars_csv

pytestmark = pytest.mark.filterwarnings("ignore:invalid escape sequence:DeprecationWarning")

GOOG = Path("apps/market-data/src/market_data/data/GOOG_1Day.csv")
CENT = Decimal("0.01")


def _compare(series: list[BarSeries], fast: int, slow: int, qty: Decimal, cash: Decimal) -> int:
    ours = run_ours(series, fast=fast, slow=slow, qty=qty, cash=cash)
    bt_fills, bt_value = run_backtrader(series, fast=fast, slow=slow, qty=qty, cash=cash)
    assert ours.rejections == []
    mine = sorted((f.day, f.symbol, f.side, f.qty, f.price) for f in ours.fills)
    theirs = sorted(
        (day, symbol, side, Decimal(int(size)), Decimal(repr(price)).quantize(CENT))
        for day, symbol, side, size, price in bt_fills
    )
    assert mine == theirs
    assert abs(ours.final_equity - Decimal(repr(bt_value))) < Decimal("0.005")
    return len(mine)


@pytest.mark.parametrize(("fast", "slow"), [(10, 30), (5, 20), (20, 50)])
def test_backtest_goog_daily_matches_backtrader_fills_and_equity(fast: int, slow: int) -> None:
    series = [read_bars_csv(GOOG)]
    assert _compare(series, fast, slow, Decimal(10), Decimal(100_000)) > 10


def test_backtest_synthetic_ten_symbols_matches_backtrader_fills_and_equity() -> None:
    series = synthetic_series(symbols=10, bars=600, seed=11)
    assert _compare(series, 10, 30, Decimal(7), Decimal(1_000_000)) > 100
