"""Dual-run through real sidecars: the same daily bars (real GOOG data shipped with
market-data) go through the distributed platform — market.events, a Dapr Workflow cycle per
day, ai-decision's local sma-cross model, the trading engine's paper exchange — and through the
in-process backtest; orders, fills, positions and P&L must be identical."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from orchestrator.backtest.bars import BarSeries, DailyBar, read_bars_csv
from orchestrator.backtest.distributed import DualRunConfig, dual_run, platform_env
from orchestrator.backtest.strategy import SmaCrossParams
from trader_cli.dualrun import http_platform

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
GOOG = REPO / "apps" / "market-data" / "src" / "market_data" / "data" / "GOOG_1Day.csv"


def two_symbols() -> list[BarSeries]:
    """Two symbols over partly overlapping days (so some days have one bar, some two): the
    first 45 days of GOOG, and 45 days of GOOG's 2006 prices laid on days 20-64."""
    goog = read_bars_csv(GOOG).bars
    tag = uuid4().hex[:5].upper()
    first = BarSeries(f"A{tag}", goog[:45])
    second = BarSeries(
        f"B{tag}",
        tuple(
            DailyBar(goog[20 + i].day, p.open, p.high, p.low, p.close, p.volume)
            for i, p in enumerate(goog[500:545])
        ),
    )
    return [first, second]


def test_dual_run_replayed_bars_through_sidecars_identical_to_backtest(
    platform_factory: Callable[..., Any],
) -> None:
    series = two_symbols()
    config = DualRunConfig(
        params=SmaCrossParams(fast=3, slow=8, qty=Decimal(10)),
        starting_cash=Decimal(50_000),
        strategy_id=f"sma-{uuid4().hex[:8]}",
    )
    env = platform_env([s.symbol for s in series], config, stream=f"dual-{uuid4().hex[:8]}")
    platform = platform_factory(["trading-engine", "ai-decision", "orchestrator"], env=env)
    http = http_platform(platform)

    async def run() -> Any:
        try:
            return await dual_run(series, config, http)
        finally:
            await http.close()

    report = asyncio.run(run())

    assert report.days == 65
    assert report.differences == []
    distributed = report.distributed
    # the run traded: round trips in both symbols, some still open at the end
    assert len(distributed.orders) >= 6, distributed.orders
    assert {o.symbol for o in distributed.orders} == {s.symbol for s in series}
    assert all(o.status in ("filled", "accepted", "new") for o in distributed.orders)
    assert len(distributed.fills) >= 5
    assert distributed.pnl["realized_pnl"] != 0
    assert distributed.pnl == report.in_process.pnl
