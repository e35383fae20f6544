"""The local sma-cross model: the backtester's sma-cross strategy as a decision model."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from decimal import Decimal

import pytest

from ai_decision.domain.context import DecisionContext
from ai_decision.domain.decision import validate_decision
from ai_decision.domain.features import BarPoint
from ai_decision.domain.sma_cross import SmaCrossConfigError, SmaCrossParams, decide
from orchestrator.backtest.bars import DailyBar
from orchestrator.backtest.strategy import SmaCross
from orchestrator.backtest.strategy import SmaCrossParams as BacktestParams
from tests.unit.ai_decision.builders import T0, bar_series, make_context

PARAMS = SmaCrossParams(fast=3, slow=6, quantity=Decimal(10))


def closes_to_bars(closes: list[str]) -> list[BarPoint]:
    return [
        BarPoint(
            ts_open=T0 + timedelta(hours=i),
            ts_close=T0 + timedelta(hours=i, minutes=59),
            open=Decimal(c),
            high=Decimal(c),
            low=Decimal(c),
            close=Decimal(c),
            volume=Decimal(100),
        )
        for i, c in enumerate(closes)
    ]


def context(bars: list[BarPoint], position: str = "0") -> DecisionContext:
    ctx = make_context(bars=bars, price=str(bars[-1].close), position=position)
    return dataclasses.replace(ctx, recent_bars=tuple(bars))


# falling, then rising: the 3-bar average crosses above the 6-bar one on the last bar
UP_CROSS = ["20", "19", "18", "17", "16", "15", "14", "15", "20"]
DOWN_CROSS = ["10", "11", "12", "13", "14", "15", "16", "15", "10"]


def test_sma_cross_up_cross_while_flat_buys_quantity() -> None:
    ctx = context(closes_to_bars(UP_CROSS))
    out = decide(ctx, PARAMS)
    assert out["action"] == "buy", out["rationale"]
    assert out["quantity"] == 10
    assert "crossed above" in out["rationale"]
    assert validate_decision(out, ctx).accepted


def test_sma_cross_up_cross_while_long_holds() -> None:
    out = decide(context(closes_to_bars(UP_CROSS), position="10"), PARAMS)
    assert out["action"] == "hold"


def test_sma_cross_down_cross_while_long_sells_whole_position() -> None:
    ctx = context(closes_to_bars(DOWN_CROSS), position="7")
    out = decide(ctx, PARAMS)
    assert out["action"] == "sell", out["rationale"]
    assert out["quantity"] == 7
    assert validate_decision(out, ctx).accepted


def test_sma_cross_down_cross_while_flat_holds() -> None:
    out = decide(context(closes_to_bars(DOWN_CROSS)), PARAMS)
    assert out["action"] == "hold"
    assert "crossed below" in out["rationale"]


def test_sma_cross_short_history_holds_and_says_how_many_bars_needed() -> None:
    out = decide(context(closes_to_bars(UP_CROSS[:6])), PARAMS)
    assert out["action"] == "hold"
    assert "7 needed" in out["rationale"]


def test_sma_cross_bars_after_as_of_are_not_seen() -> None:
    bars = closes_to_bars(UP_CROSS)
    ctx = context(bars)
    late = dataclasses.replace(bars[-1], ts_close=ctx.as_of + timedelta(minutes=1))
    out = decide(dataclasses.replace(ctx, recent_bars=(*ctx.recent_bars[:-1], late)), PARAMS)
    assert out["action"] == "hold"  # the crossing bar is after as_of


@pytest.mark.parametrize(
    ("fast", "slow", "quantity", "message"),
    [(0, 5, "1", "fast"), (5, 5, "1", "slow"), (2, 5, "0", "quantity")],
)
def test_sma_cross_params_out_of_range_refused_naming_the_parameter(
    fast: int, slow: int, quantity: str, message: str
) -> None:
    with pytest.raises(SmaCrossConfigError, match=message):
        SmaCrossParams(fast, slow, Decimal(quantity))


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_sma_cross_model_bar_by_bar_equals_backtest_strategy(seed: int) -> None:
    """Over a random walk, the model's decision after each bar (given every bar so far and
    the position) is the backtester's strategy's intent."""
    bars = bar_series(120, seed=seed, vol=0.02)
    strategy = SmaCross(BacktestParams(fast=PARAMS.fast, slow=PARAMS.slow, qty=PARAMS.quantity))
    position = Decimal(0)
    trades = 0
    for i, bar in enumerate(bars):
        daily = DailyBar(
            date(2020, 1, 1) + timedelta(days=i), bar.open, bar.high, bar.low, bar.close, bar.volume
        )
        intent = strategy.on_bar(daily, position)
        out = decide(context(bars[: i + 1], position=str(position)), PARAMS)
        if intent is None:
            assert out["action"] == "hold", (i, out)
        else:
            assert (out["action"], Decimal(out["quantity"])) == (intent.side, intent.qty), i
            position += intent.qty if intent.side == "buy" else -intent.qty
            trades += 1
    assert trades >= 2
