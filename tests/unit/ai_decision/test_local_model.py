"""The local deterministic model: momentum + mean reversion, volatility-scaled sizing."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ai_decision.domain.commands import RiskLimits
from ai_decision.domain.decision import validate_decision
from ai_decision.domain.local_model import decide
from tests.unit.ai_decision.builders import bar_series, make_context


def test_local_model_same_context_same_decision() -> None:
    ctx = make_context(bars=bar_series(80, seed=1, drift=0.003))
    assert decide(ctx) == decide(ctx)


def test_local_model_without_bars_holds_and_says_why() -> None:
    out = decide(make_context(bars=None))
    assert out["action"] == "hold"
    assert "no bars" in out["rationale"]


def test_local_model_short_history_holds_and_says_why() -> None:
    out = decide(make_context(bars=bar_series(10)))
    assert out["action"] == "hold"
    assert "21 needed" in out["rationale"]


def test_local_model_steady_uptrend_buys_within_limits() -> None:
    bars = bar_series(80, seed=3, drift=0.004, vol=0.004)
    price = str(bars[-1].close)
    ctx = make_context(bars=bars, price=price)
    out = decide(ctx)
    assert out["action"] == "buy", out["rationale"]
    assert out["quantity"] >= 1
    assert 0 < out["target_weight"] <= 0.10
    assert out["rationale"].startswith("Buy ")
    assert validate_decision(out, ctx).accepted


def test_local_model_downtrend_with_position_sells_no_more_than_held() -> None:
    bars = bar_series(80, seed=3, drift=-0.004, vol=0.004)
    price = str(bars[-1].close)
    ctx = make_context(bars=bars, price=price, position="30")
    out = decide(ctx)
    assert out["action"] == "sell", out["rationale"]
    assert 1 <= out["quantity"] <= 30
    assert validate_decision(out, ctx).accepted


def test_local_model_downtrend_when_flat_without_shorting_holds() -> None:
    bars = bar_series(80, seed=3, drift=-0.004, vol=0.004)
    out = decide(make_context(bars=bars, price=str(bars[-1].close)))
    assert out["action"] == "hold"


def test_local_model_below_min_confidence_holds() -> None:
    bars = bar_series(80, seed=3, drift=0.004, vol=0.004)
    ctx = make_context(
        bars=bars, price=str(bars[-1].close), limits=RiskLimits(min_confidence=Decimal("1"))
    )
    out = decide(ctx)
    assert out["action"] == "hold"
    assert "below the strategy's minimum" in out["rationale"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    drift=st.floats(-0.01, 0.01),
    vol=st.floats(0.001, 0.05),
    n=st.integers(0, 90),
    position=st.integers(-50, 400),
    equity=st.integers(1_000, 10_000_000),
    buying_power_pct=st.integers(0, 200),
    max_weight=st.decimals("0.01", "1", places=3),
    max_qty=st.none() | st.integers(1, 1000),
    max_notional=st.none() | st.integers(100, 1_000_000),
    allow_short=st.booleans(),
    min_conf=st.decimals("0", "0.9", places=2),
)
def test_local_model_decisions_always_pass_validation_property(
    seed: int,
    drift: float,
    vol: float,
    n: int,
    position: int,
    equity: int,
    buying_power_pct: int,
    max_weight: Decimal,
    max_qty: int | None,
    max_notional: int | None,
    allow_short: bool,
    min_conf: Decimal,
) -> None:
    bars = bar_series(n, seed=seed, drift=drift, vol=vol) if n else None
    price = str(bars[-1].close) if bars else "50"
    limits = RiskLimits(
        max_position_weight=max_weight,
        max_order_qty=None if max_qty is None else Decimal(max_qty),
        max_order_notional=None if max_notional is None else Decimal(max_notional),
        allow_short=allow_short,
        min_confidence=min_conf,
    )
    ctx = make_context(
        bars=bars,
        price=price,
        position=str(position),
        limits=limits,
        equity=str(equity),
        buying_power=str(equity * buying_power_pct // 100),
    )
    out = decide(ctx)
    verdict = validate_decision(out, ctx)
    assert verdict.accepted, (out, verdict.reasons)
    assert out["rationale"]
