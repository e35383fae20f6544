"""The metric functions on hand-computed examples, their input checks, and compute_metrics'
agreement with the individual functions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analytics.domain import metrics as m
from analytics.domain.errors import AnalyticsInputError


def test_per_period_rate_compounded_over_a_year_gives_the_annual_rate() -> None:
    rate = m.per_period_rate(0.04, 252)
    assert (1 + rate) ** 252 == pytest.approx(1.04, rel=1e-12)
    assert rate < 0.04 / 252  # geometric, not simple division


def test_per_period_rate_zero_is_exactly_zero() -> None:
    assert m.per_period_rate(0.0, 365) == 0.0


@pytest.mark.parametrize("rate", [-1.0, -1.5, math.inf, math.nan])
def test_per_period_rate_impossible_rate_raises_naming_the_rate(rate: float) -> None:
    with pytest.raises(AnalyticsInputError, match="risk-free rate"):
        m.per_period_rate(rate, 252)


@pytest.mark.parametrize("periods", [0, -252, math.nan, math.inf, True, "252"])
def test_check_periods_per_year_invalid_value_raises(periods: object) -> None:
    with pytest.raises(AnalyticsInputError, match="periods per year"):
        m.check_periods_per_year(periods)  # type: ignore[arg-type]


def test_periods_per_year_for_asset_classes_is_252_and_365() -> None:
    assert m.periods_per_year_for("equity") == 252
    assert m.periods_per_year_for("crypto") == 365


def test_periods_per_year_for_unknown_asset_class_raises() -> None:
    with pytest.raises(AnalyticsInputError, match="unknown asset class 'bonds'"):
        m.periods_per_year_for("bonds")  # type: ignore[arg-type]


def test_returns_from_equity_simple_curve_gives_period_returns() -> None:
    np.testing.assert_allclose(m.returns_from_equity([100.0, 110.0, 99.0]), [0.1, -0.1])


def test_returns_from_equity_non_positive_point_raises_naming_it() -> None:
    with pytest.raises(AnalyticsInputError, match=r"equity\[1\] is 0.0"):
        m.returns_from_equity([100.0, 0.0, 5.0])


def test_returns_from_equity_single_point_raises() -> None:
    with pytest.raises(AnalyticsInputError, match="at least 2 points"):
        m.returns_from_equity([100.0])


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([], "empty"),
        ([0.01, math.nan], r"returns\[1\] is nan"),
        ([math.inf], r"returns\[0\] is inf"),
        ([[0.01, 0.02]], "one-dimensional"),
        (["a", "b"], "must be numbers"),
    ],
)
def test_as_returns_bad_input_raises_clear_error(values: object, message: str) -> None:
    with pytest.raises(AnalyticsInputError, match=message):
        m.as_returns(values)  # type: ignore[arg-type]


def test_equity_from_returns_anchors_at_start_value() -> None:
    np.testing.assert_allclose(m.equity_from_returns([0.1, -0.5], start=100.0), [100, 110, 55])


def test_total_return_two_periods_compounds() -> None:
    assert m.total_return([0.1, -0.1]) == pytest.approx(-0.01)


def test_cagr_one_year_of_periods_equals_total_return() -> None:
    per_period = 1.1 ** (1 / 252) - 1
    assert m.cagr(np.full(252, per_period), 252) == pytest.approx(0.1, rel=1e-12)


def test_cagr_half_a_year_annualises_by_compounding() -> None:
    per_period = 1.1 ** (1 / 126) - 1
    assert m.cagr(np.full(126, per_period), 252) == pytest.approx(0.21, rel=1e-12)


def test_annual_volatility_two_returns_uses_sample_std() -> None:
    expected = math.sqrt(0.01**2 + 0.01**2) * math.sqrt(252)  # ddof=1: divide by n - 1 = 1
    assert m.annual_volatility([0.01, -0.01], 252) == pytest.approx(expected)


def test_annual_volatility_crypto_annualises_with_365() -> None:
    returns = [0.01, -0.02, 0.015]
    ratio = m.annual_volatility(returns, 365) / m.annual_volatility(returns, 252)
    assert ratio == pytest.approx(math.sqrt(365 / 252))


@pytest.mark.parametrize(
    "metric",
    [m.annual_volatility, m.sharpe_ratio, m.sortino_ratio],
)
def test_dispersion_metrics_single_period_are_nan(metric: object) -> None:
    assert math.isnan(metric([0.01]))  # type: ignore[operator]


def test_sharpe_ratio_known_series_matches_formula() -> None:
    returns = np.array([0.01, 0.02, -0.01, 0.03])
    rf = 0.001
    excess = returns - rf
    expected = excess.mean() / excess.std(ddof=1) * math.sqrt(252)
    assert m.sharpe_ratio(returns, rf, 252) == pytest.approx(expected, rel=1e-12)


def test_sortino_ratio_known_series_uses_all_periods_in_downside() -> None:
    returns = np.array([0.02, -0.01, 0.03, -0.02])
    downside = math.sqrt((0.01**2 + 0.02**2) / 4) * math.sqrt(252)
    expected = returns.mean() * 252 / downside
    assert m.sortino_ratio(returns, 0.0, 252) == pytest.approx(expected, rel=1e-12)


def test_max_drawdown_fall_and_partial_rebound_is_peak_to_trough() -> None:
    assert m.max_drawdown([0.1, -0.5, 0.2]) == pytest.approx(-0.5)


def test_max_drawdown_first_period_loss_counts_from_start_value() -> None:
    assert m.max_drawdown([-0.1, 0.05]) == pytest.approx(-0.1)
    assert m.max_drawdown_duration([-0.1, 0.05]) == 2


def test_max_drawdown_only_gains_is_zero() -> None:
    assert m.max_drawdown([0.01, 0.02]) == 0.0
    assert m.max_drawdown_duration([0.01, 0.02]) == 0


def test_max_drawdown_duration_longest_underwater_run_in_periods() -> None:
    # equity 1, 1.1, 0.99, 0.891, 1.3365 (new high), 1.20285: runs of 2 then 1 below the peak
    assert m.max_drawdown_duration([0.1, -0.1, -0.1, 0.5, -0.1]) == 2


def test_max_drawdown_duration_open_drawdown_counts_to_the_end() -> None:
    assert m.max_drawdown_duration([0.1, -0.01, 0.005, 0.001, -0.02]) == 4


def test_calmar_ratio_no_drawdown_is_nan() -> None:
    assert math.isnan(m.calmar_ratio([0.01, 0.02]))


def test_calmar_ratio_is_cagr_over_max_drawdown() -> None:
    returns = [0.05, -0.1, 0.08, 0.02]
    expected = m.cagr(returns, 252) / abs(m.max_drawdown(returns))
    assert m.calmar_ratio(returns, 252) == pytest.approx(expected)


def test_alpha_beta_benchmark_scaled_copy_has_that_beta_and_no_alpha() -> None:
    benchmark = np.array([0.01, -0.02, 0.015, 0.005])
    alpha, beta = m.alpha_beta(2 * benchmark, benchmark, 0.0, 252)
    assert beta == pytest.approx(2.0)
    assert alpha == pytest.approx(0.0, abs=1e-12)


def test_alpha_beta_different_lengths_raises() -> None:
    with pytest.raises(AnalyticsInputError, match="same periods: 3 vs 2"):
        m.alpha_beta([0.01, 0.02, 0.03], [0.01, 0.02])


def test_alpha_beta_single_period_is_nan() -> None:
    assert all(math.isnan(value) for value in m.alpha_beta([0.01], [0.02]))


def test_exposure_counts_nonzero_positions() -> None:
    assert m.exposure([0, 3, -2, 0]) == 0.5
    assert m.exposure([True, False, False, False]) == 0.25


def test_exposure_no_periods_raises() -> None:
    with pytest.raises(AnalyticsInputError, match="exposure"):
        m.exposure([])


def test_compute_metrics_random_series_agrees_with_individual_functions() -> None:
    rng = np.random.default_rng(3)
    returns = rng.normal(0.0005, 0.01, 2_000)
    benchmark = 0.6 * returns + rng.normal(0, 0.005, returns.size)
    rf = m.per_period_rate(0.03, 365)
    result = m.compute_metrics(
        returns, periods_per_year=365, risk_free_annual=0.03, benchmark_returns=benchmark
    )
    alpha, beta = m.alpha_beta(returns, benchmark, rf, 365)
    assert result.periods == 2_000
    assert result.total_return == pytest.approx(m.total_return(returns), rel=1e-12)
    assert result.cagr == pytest.approx(m.cagr(returns, 365), rel=1e-12)
    assert result.annual_volatility == pytest.approx(m.annual_volatility(returns, 365))
    assert result.sharpe == pytest.approx(m.sharpe_ratio(returns, rf, 365))
    assert result.sortino == pytest.approx(m.sortino_ratio(returns, rf, 365))
    assert result.calmar == pytest.approx(m.calmar_ratio(returns, 365), rel=1e-12)
    assert result.max_drawdown == m.max_drawdown(returns)
    assert result.max_drawdown_duration == m.max_drawdown_duration(returns)
    assert result.alpha == pytest.approx(alpha)
    assert result.beta == pytest.approx(beta)
    assert result.exposure == 1.0
    assert result.exposure_basis == "nonzero_returns"


def test_compute_metrics_with_positions_uses_them_for_exposure() -> None:
    result = m.compute_metrics([0.01, 0.0, -0.01, 0.0], in_market=[1, 1, 1, 0])
    assert result.exposure == 0.75
    assert result.exposure_basis == "positions"


def test_compute_metrics_without_positions_exposure_is_nonzero_return_share() -> None:
    assert m.compute_metrics([0.01, 0.0, -0.01, 0.0]).exposure == 0.5


def test_compute_metrics_positions_of_wrong_length_raises() -> None:
    with pytest.raises(AnalyticsInputError, match="3 flags for 4 periods"):
        m.compute_metrics([0.01, 0.0, -0.01, 0.0], in_market=[1, 1, 0])


def test_compute_metrics_without_benchmark_leaves_alpha_beta_none() -> None:
    result = m.compute_metrics([0.01, -0.02, 0.03])
    assert result.alpha is None
    assert result.beta is None


def test_compute_metrics_period_win_loss_figures() -> None:
    result = m.compute_metrics([0.02, -0.01, 0.0, 0.01])
    assert result.win_rate == pytest.approx(2 / 3)
    assert result.profit_factor == pytest.approx(3.0)
    assert result.avg_win == pytest.approx(0.015)
    assert result.avg_loss == pytest.approx(-0.01)
    assert result.expectancy == pytest.approx(0.02 / 3)


def test_compute_metrics_as_dict_has_every_field() -> None:
    keys = set(m.compute_metrics([0.01, -0.02]).as_dict())
    assert {"sharpe", "sortino", "calmar", "max_drawdown_duration", "exposure", "alpha"} <= keys


def test_compute_metrics_bad_risk_free_raises() -> None:
    with pytest.raises(AnalyticsInputError, match="risk-free"):
        m.compute_metrics([0.01, 0.02], risk_free_annual=-2.0)
