"""Feature computations against hand-computed values."""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest

from ai_decision.domain.features import (
    LOOKBACK_BARS,
    BarFeatures,
    BarPoint,
    FeatureVector,
    QuotePoint,
    TradePoint,
    atr,
    compute_bar_features,
    macd,
    rsi,
    volume_zscore,
)
from tests.unit.ai_decision.builders import T0, bar_series


def flat_bars(closes: list[float], volumes: list[float] | None = None) -> list[BarPoint]:
    out = []
    for i, c in enumerate(closes):
        price = Decimal(str(c))
        out.append(
            BarPoint(
                ts_open=T0 + timedelta(minutes=i),
                ts_close=T0 + timedelta(minutes=i + 1),
                open=price,
                high=price,
                low=price,
                close=price,
                volume=Decimal(str(volumes[i] if volumes else 100)),
            )
        )
    return out


def test_rsi_steady_gains_is_100() -> None:
    assert rsi(np.arange(1.0, 20.0)) == 100.0


def test_rsi_steady_losses_is_0() -> None:
    assert rsi(np.arange(20.0, 1.0, -1.0)) == pytest.approx(0.0)


def test_rsi_alternating_equal_moves_is_50() -> None:
    closes = np.array([10.0 + (i % 2) for i in range(15)])
    assert rsi(closes) == pytest.approx(50.0)


def test_rsi_too_few_bars_is_none() -> None:
    assert rsi(np.arange(1.0, 15.0)) is None


def test_atr_constant_range_is_that_range() -> None:
    closes = np.full(20, 10.0)
    assert atr(closes + 0.5, closes - 0.5, closes) == pytest.approx(1.0)


def test_macd_constant_prices_is_zero() -> None:
    result = macd(np.full(40, 50.0))
    assert result == pytest.approx((0.0, 0.0, 0.0))


def test_macd_rising_prices_is_positive_and_needs_35_bars() -> None:
    assert macd(np.arange(1.0, 35.0)) is None
    line, _, _ = macd(np.linspace(10, 20, 60)) or (0.0, 0.0, 0.0)
    assert line > 0


def test_volume_zscore_matches_hand_computation() -> None:
    base = [100.0, 110.0] * 10
    z = volume_zscore(np.array([*base, 130.0]))
    mean, std = np.mean(base), np.std(base, ddof=1)
    assert z == pytest.approx((130.0 - mean) / std)


def test_volume_zscore_flat_baseline_is_none() -> None:
    assert volume_zscore(np.full(21, 5.0)) is None


def test_bar_features_returns_and_volatility_hand_computed() -> None:
    closes = [100.0 * (1.01**i) for i in range(70)]
    f = compute_bar_features(flat_bars(closes))
    assert f.ret_1 == pytest.approx(0.01, abs=1e-6)
    assert f.ret_5 == pytest.approx(1.01**5 - 1, abs=1e-6)
    assert f.ret_60 == pytest.approx(1.01**60 - 1, abs=1e-5)
    assert f.volatility_20 == pytest.approx(0.0, abs=1e-6)  # constant log return
    assert f.rsi_14 == 100.0
    assert f.as_of == T0 + timedelta(minutes=70)
    assert f.close == Decimal(str(closes[-1]))


def test_bar_features_few_bars_are_none() -> None:
    f = compute_bar_features(flat_bars([10.0, 11.0, 12.0]))
    assert f.ret_1 == pytest.approx(1 / 11, abs=1e-6)
    assert (f.ret_5, f.volatility_20, f.rsi_14, f.macd, f.atr_14, f.volume_z_20) == (
        None,
        None,
        None,
        None,
        None,
        None,
    )


def test_bar_features_use_only_the_lookback_window() -> None:
    bars = bar_series(LOOKBACK_BARS + 50, seed=3)
    assert compute_bar_features(bars) == compute_bar_features(bars[-LOOKBACK_BARS:])


def test_bar_features_json_round_trip_is_exact() -> None:
    f = compute_bar_features(bar_series(80, seed=4))
    assert BarFeatures.from_json(f.to_json()) == f


def test_bar_features_no_bars_raise() -> None:
    with pytest.raises(ValueError, match="at least one bar"):
        compute_bar_features([])


def test_feature_vector_reference_price_is_the_freshest() -> None:
    bars = compute_bar_features(flat_bars([10.0] * 3))  # closes at T0+3m
    quote = QuotePoint(ts=T0 + timedelta(minutes=2), bid=Decimal("9.9"), ask=Decimal("10.1"))
    trade = TradePoint(ts=T0 + timedelta(minutes=4), price=Decimal("10.5"), size=Decimal(1))
    v = FeatureVector("X", T0 + timedelta(minutes=5), bars, quote, trade)
    assert v.reference_price == Decimal("10.5")
    assert v.spread == Decimal("0.2")
    assert v.spread_bps is not None and math.isclose(v.spread_bps, 200.0)
    assert FeatureVector("X", T0, None, None, None).reference_price is None
