"""Historical analysis: series checks, time ranges, period returns, the monthly table, drawdown
periods and rolling statistics."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from analytics.domain.errors import AnalyticsInputError
from analytics.domain.history import (
    drawdown_periods,
    equity_of_returns,
    monthly_returns_table,
    period_returns,
    require_utc_series,
    returns_of_equity,
    rolling_sharpe,
    rolling_volatility,
    slice_range,
    underwater,
    utc_series,
)


def _daily(values: list[float], start: str = "2024-01-01") -> pd.Series:
    index = pd.date_range(start, periods=len(values), freq="D", tz="UTC")
    return pd.Series(values, index=index, dtype=float)


def _day(number: int) -> datetime:
    return datetime(2024, 1, number, tzinfo=UTC)


def test_require_utc_series_other_timezone_is_converted_to_utc() -> None:
    index = pd.date_range("2024-01-01 09:00", periods=2, freq="D", tz="Europe/Paris")
    checked = require_utc_series(pd.Series([1.0, 2.0], index=index))
    assert str(checked.index.tz) == "UTC"
    assert checked.index[0] == pd.Timestamp("2024-01-01 08:00", tz="UTC")


@pytest.mark.parametrize(
    ("series", "message"),
    [
        (pd.Series([1.0], index=pd.DatetimeIndex(["2024-01-01"])), "naive timestamps"),
        (pd.Series([1.0, 2.0]), "indexed by timestamps"),
        ([1.0, 2.0], "must be a pandas Series"),
        (_daily([1.0, math.nan]), "2024-01-02.* is nan"),
        (
            pd.Series([1.0, 2.0], index=pd.DatetimeIndex(["2024-01-02", "2024-01-01"], tz="UTC")),
            "not in time order: 2024-01-01.* comes after 2024-01-02",
        ),
        (
            pd.Series([1.0, 2.0], index=pd.DatetimeIndex(["2024-01-01", "2024-01-01"], tz="UTC")),
            "2024-01-01.* more than once",
        ),
        (pd.Series(["a", "b"], index=pd.date_range("2024-01-01", periods=2, tz="UTC")), "numbers"),
    ],
)
def test_require_utc_series_bad_series_raises_clear_error(series: object, message: str) -> None:
    with pytest.raises(AnalyticsInputError, match=message):
        require_utc_series(series)


def test_utc_series_naive_timestamp_raises() -> None:
    with pytest.raises(AnalyticsInputError, match="no timezone"):
        utc_series([datetime(2024, 1, 1)], [1.0])  # noqa: DTZ001


def test_utc_series_length_mismatch_raises() -> None:
    with pytest.raises(AnalyticsInputError, match="2 timestamps for 1 values"):
        utc_series([_day(1), _day(2)], [1.0])


def test_slice_range_bounds_are_inclusive() -> None:
    series = _daily([1.0, 2.0, 3.0, 4.0])
    assert slice_range(series, _day(2), _day(3)).tolist() == [2.0, 3.0]
    assert slice_range(series, None, _day(1)).tolist() == [1.0]
    assert slice_range(series, _day(4)).tolist() == [4.0]


def test_slice_range_offset_bound_is_compared_in_utc() -> None:
    series = _daily([1.0, 2.0, 3.0])
    plus_two = timezone(timedelta(hours=2))
    assert slice_range(series, datetime(2024, 1, 2, 1, 0, tzinfo=plus_two)).tolist() == [2.0, 3.0]


def test_slice_range_start_after_end_raises() -> None:
    with pytest.raises(AnalyticsInputError, match="is after end"):
        slice_range(_daily([1.0, 2.0]), _day(3), _day(2))


def test_slice_range_naive_bound_raises() -> None:
    with pytest.raises(AnalyticsInputError, match=r"start .* no timezone"):
        slice_range(_daily([1.0, 2.0]), datetime(2024, 1, 1))  # noqa: DTZ001


def test_returns_of_equity_is_stamped_at_period_end() -> None:
    returns = returns_of_equity(_daily([100.0, 110.0, 99.0]))
    assert returns.index[0] == pd.Timestamp("2024-01-02", tz="UTC")
    np.testing.assert_allclose(returns.to_numpy(), [0.1, -0.1])


def test_returns_of_equity_non_positive_point_raises_naming_its_time() -> None:
    with pytest.raises(
        AnalyticsInputError, match=r"2024-01-02.* is -1\.0: equity must be positive"
    ):
        returns_of_equity(_daily([100.0, -1.0]))


def test_equity_of_returns_anchors_one_period_before() -> None:
    curve = equity_of_returns(_daily([0.1, -0.5], start="2024-01-02"), start=100.0)
    assert curve.index[0] == pd.Timestamp("2024-01-01", tz="UTC")
    np.testing.assert_allclose(curve.to_numpy(), [100.0, 110.0, 55.0])


def test_period_returns_day_compounds_intraday_returns() -> None:
    index = pd.DatetimeIndex(["2024-01-01 10:00", "2024-01-01 15:00", "2024-01-02 10:00"], tz="UTC")
    result = period_returns(pd.Series([0.1, 0.1, -0.05], index=index), "day")
    assert list(result.index) == [
        pd.Timestamp("2024-01-01", tz="UTC"),
        pd.Timestamp("2024-01-02", tz="UTC"),
    ]
    np.testing.assert_allclose(result.to_numpy(), [0.21, -0.05])


def test_period_returns_week_labels_are_mondays() -> None:
    returns = _daily([0.01] * 10, start="2024-01-03")  # Wed 3rd .. Fri 12th
    result = period_returns(returns, "week")
    assert [label.day_name() for label in result.index] == ["Monday", "Monday"]
    assert result.index[0] == pd.Timestamp("2024-01-01", tz="UTC")
    assert result.iloc[0] == pytest.approx(1.01**5 - 1)


def test_period_returns_month_labels_are_first_days() -> None:
    result = period_returns(_daily([0.01] * 40), "month")
    assert list(result.index.day) == [1, 1]
    assert result.iloc[0] == pytest.approx(1.01**31 - 1)


def test_period_returns_unknown_frequency_raises() -> None:
    with pytest.raises(AnalyticsInputError, match="unknown frequency 'hour'"):
        period_returns(_daily([0.01, 0.02]), "hour")  # type: ignore[arg-type]


def test_monthly_returns_table_rows_years_columns_months_and_year_total() -> None:
    returns = _daily([0.01] * 45, start="2023-12-01")  # all of December, 14 days of January
    table = monthly_returns_table(returns)
    assert list(table.index) == [2023, 2024]
    assert list(table.columns) == [*range(1, 13), "year"]
    assert table.loc[2023, 12] == pytest.approx(1.01**31 - 1)
    assert table.loc[2024, 1] == pytest.approx(1.01**14 - 1)
    assert math.isnan(table.loc[2024, 2])
    assert table.loc[2024, "year"] == pytest.approx(1.01**14 - 1)


def test_underwater_is_distance_below_running_peak() -> None:
    np.testing.assert_allclose(underwater(_daily([100.0, 120.0, 90.0, 130.0])), [0, 0, -0.25, 0])


def test_drawdown_periods_recovered_and_open_drawdowns_in_time_order() -> None:
    equity = _daily([100.0, 110.0, 99.0, 104.5, 110.0, 121.0, 115.0, 120.0])
    first, second = drawdown_periods(equity)
    assert first.peak == _day(2)
    assert first.trough == _day(3)
    assert first.recovery == _day(5)
    assert first.depth == pytest.approx(-0.1)
    assert first.periods == 2
    assert first.duration == timedelta(days=3)
    assert second.peak == _day(6)
    assert second.trough == _day(7)
    assert second.recovery is None
    assert second.depth == pytest.approx(115 / 121 - 1)
    assert second.periods == 2
    assert second.duration == timedelta(days=2)


def test_drawdown_periods_top_returns_deepest_first() -> None:
    equity = _daily([100.0, 95.0, 100.0, 80.0, 101.0, 99.0, 102.0])
    periods = drawdown_periods(equity, top=2)
    assert [round(period.depth, 4) for period in periods] == [-0.2, -0.05]


def test_drawdown_periods_repeated_trough_reports_first_touch() -> None:
    (period,) = drawdown_periods(_daily([100.0, 90.0, 95.0, 90.0, 100.0]))
    assert period.trough == _day(2)


def test_drawdown_periods_rising_curve_has_none() -> None:
    assert drawdown_periods(_daily([1.0, 2.0, 3.0])) == []


def test_drawdown_periods_top_zero_raises() -> None:
    with pytest.raises(AnalyticsInputError, match="top must be at least 1"):
        drawdown_periods(_daily([1.0, 2.0]), top=0)


def test_rolling_volatility_first_full_window_is_sample_std() -> None:
    returns = _daily([0.01, -0.01, 0.02, 0.0])
    result = rolling_volatility(returns, 2, 252)
    assert math.isnan(result.iloc[0])
    assert result.iloc[1] == pytest.approx(np.std([0.01, -0.01], ddof=1) * math.sqrt(252))


def test_rolling_sharpe_constant_window_is_infinite_not_huge() -> None:
    result = rolling_sharpe(_daily([0.003, 0.001, 0.001, 0.001]), 3, 252)
    assert result.iloc[3] == math.inf


def test_rolling_sharpe_with_risk_free_uses_per_period_rate() -> None:
    returns = _daily([0.01, -0.005, 0.007, 0.002])
    result = rolling_sharpe(returns, 4, 365, risk_free_annual=0.05)
    excess = returns.to_numpy() - (1.05 ** (1 / 365) - 1)
    assert result.iloc[-1] == pytest.approx(excess.mean() / excess.std(ddof=1) * math.sqrt(365))


@pytest.mark.parametrize(
    ("window", "message"),
    [(1, "at least 2"), (True, "at least 2"), (2.5, "whole number"), (5, "longer than the 4")],
)
def test_rolling_bad_window_raises(window: object, message: str) -> None:
    with pytest.raises(AnalyticsInputError, match=message):
        rolling_sharpe(_daily([0.01, 0.02, 0.03, 0.04]), window, 252)  # type: ignore[arg-type]
