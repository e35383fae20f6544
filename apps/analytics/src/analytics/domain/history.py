"""Historical analysis over time-indexed series: time ranges, day/week/month returns, the
monthly-returns table, drawdown periods, rolling Sharpe and volatility.

Series are pandas Series of float64 statistics (not ledger amounts) indexed by a timezone-aware
UTC DatetimeIndex, ascending and without duplicates (:func:`require_utc_series` checks and
normalises). Pure functions: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import numpy as np
import pandas as pd

from .errors import AnalyticsInputError
from .metrics import check_periods_per_year, per_period_rate

Frequency = Literal["day", "week", "month"]
FREQUENCIES: tuple[Frequency, ...] = ("day", "week", "month")


def require_aware(moment: datetime, name: str) -> pd.Timestamp:
    """``moment`` as a UTC Timestamp, or an error if it has no timezone."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise AnalyticsInputError(
            f"{name} {moment.isoformat()} has no timezone: times must be timezone-aware"
        )
    return pd.Timestamp(moment).tz_convert("UTC")


def require_utc_series(series: pd.Series, name: str = "series") -> pd.Series:
    """``series`` as float64 over a UTC DatetimeIndex, or a clear error: the index must be
    timezone-aware (any zone is converted to UTC), ascending and unique; values finite."""
    if not isinstance(series, pd.Series):
        raise AnalyticsInputError(f"{name} must be a pandas Series, got {type(series).__name__}")
    index = series.index
    if not isinstance(index, pd.DatetimeIndex):
        raise AnalyticsInputError(f"{name} must be indexed by timestamps")
    if index.tz is None:
        raise AnalyticsInputError(f"{name} has naive timestamps: times must be timezone-aware")
    if index.has_duplicates:
        duplicate = index[index.duplicated()][0]
        raise AnalyticsInputError(f"{name} has timestamp {duplicate.isoformat()} more than once")
    if not index.is_monotonic_increasing:
        position = int(np.argmax(np.diff(index.asi8) < 0)) + 1
        raise AnalyticsInputError(
            f"{name} is not in time order: {index[position].isoformat()} comes after "
            f"{index[position - 1].isoformat()}"
        )
    try:
        values = series.to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise AnalyticsInputError(f"{name} must hold numbers: {error}") from None
    finite = np.isfinite(values)
    if not finite.all():
        position = int(np.argmin(finite))
        raise AnalyticsInputError(
            f"{name} at {index[position].isoformat()} is {values[position]}: values must be finite"
        )
    return pd.Series(values, index=index.tz_convert("UTC"), name=series.name)


def utc_series(
    timestamps: Sequence[datetime], values: Sequence[float] | np.ndarray, name: str = "series"
) -> pd.Series:
    """Build a checked UTC series from aware datetimes and values."""
    if len(timestamps) != len(values):
        raise AnalyticsInputError(f"{name}: {len(timestamps)} timestamps for {len(values)} values")
    for moment in timestamps:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise AnalyticsInputError(
                f"{name}: {moment.isoformat()} has no timezone: times must be timezone-aware"
            )
    index = pd.DatetimeIndex(pd.to_datetime(list(timestamps), utc=True))
    return require_utc_series(pd.Series(np.asarray(values, dtype=np.float64), index=index), name)


def slice_range(
    series: pd.Series, start: datetime | None = None, end: datetime | None = None
) -> pd.Series:
    """The points with ``start <= time <= end`` (either bound may be open)."""
    lower = require_aware(start, "start") if start is not None else None
    upper = require_aware(end, "end") if end is not None else None
    if lower is not None and upper is not None and lower > upper:
        raise AnalyticsInputError(
            f"start {lower.isoformat()} is after end {upper.isoformat()}: not a time range"
        )
    mask = np.ones(len(series), dtype=bool)
    if lower is not None:
        mask &= series.index >= lower
    if upper is not None:
        mask &= series.index <= upper
    return series[mask]


def returns_of_equity(equity: pd.Series) -> pd.Series:
    """Period returns of a positive equity curve, each stamped at the end of its period."""
    values = equity.to_numpy(dtype=np.float64)
    if values.size < 2:
        raise AnalyticsInputError("an equity curve needs at least 2 points to give a return")
    if (values <= 0).any():
        position = int(np.argmax(values <= 0))
        raise AnalyticsInputError(
            f"equity at {equity.index[position].isoformat()} is {values[position]}: "
            "equity must be positive"
        )
    return pd.Series(values[1:] / values[:-1] - 1.0, index=equity.index[1:], name="returns")


def equity_of_returns(returns: pd.Series, start: float = 1.0) -> pd.Series:
    """The equity curve of ``returns`` with the starting value as its first point, stamped one
    period (the first spacing of the index, or a day for a single return) before the first
    return — the same anchor empyrical puts before the first return."""
    if len(returns) == 0:
        raise AnalyticsInputError("no returns: cannot build an equity curve")
    index = returns.index
    step = index[1] - index[0] if len(index) > 1 else pd.Timedelta(days=1)
    curve = np.empty(len(returns) + 1, dtype=np.float64)
    curve[0] = start
    np.add(returns.to_numpy(dtype=np.float64), 1.0, out=curve[1:])
    np.cumprod(curve, out=curve)
    return pd.Series(curve, index=index.insert(0, index[0] - step), name="equity")


def _period_keys(index: pd.DatetimeIndex, frequency: Frequency) -> pd.DatetimeIndex:
    day = index.floor("D")
    if frequency == "day":
        return day
    if frequency == "week":
        return day - pd.to_timedelta(np.asarray(day.day_of_week), unit="D")
    if frequency == "month":
        return day - pd.to_timedelta(np.asarray(day.day) - 1, unit="D")
    raise AnalyticsInputError(
        f"unknown frequency {frequency!r}: expected one of {', '.join(FREQUENCIES)}"
    )


def period_returns(returns: pd.Series, frequency: Frequency) -> pd.Series:
    """Compounded returns per UTC day, ISO week (Monday to Sunday) or calendar month, each
    labelled by the period's first day (midnight UTC). Periods without data are absent."""
    keys = _period_keys(returns.index, frequency)
    grouped = (returns + 1.0).groupby(keys).prod() - 1.0
    grouped.index.name = frequency
    grouped.name = "return"
    return grouped


def monthly_returns_table(returns: pd.Series) -> pd.DataFrame:
    """Compounded monthly returns as a table: one row per year, columns 1..12 (NaN where a
    month has no data), plus a ``year`` column with the year's compounded return."""
    monthly = period_returns(returns, "month")
    frame = pd.DataFrame(
        {"year": monthly.index.year, "month": monthly.index.month, "value": monthly.to_numpy()}
    )
    table = frame.pivot(index="year", columns="month", values="value")
    table = table.reindex(columns=range(1, 13))
    table.columns = list(range(1, 13))
    table["year"] = (table[list(range(1, 13))].fillna(0.0) + 1.0).prod(axis=1) - 1.0
    return table


def underwater(equity: pd.Series) -> pd.Series:
    """Drawdown at each point: ``equity / running_peak - 1`` (0 at a new high)."""
    values = equity.to_numpy(dtype=np.float64)
    drawdown = values / np.maximum.accumulate(values) - 1.0
    return pd.Series(drawdown, index=equity.index, name="drawdown")


@dataclass(frozen=True, slots=True)
class DrawdownPeriod:
    """One stretch below a previous peak."""

    peak: datetime
    """The last point at the peak, before the fall."""
    trough: datetime
    """The lowest point (the first one, if it was touched more than once)."""
    recovery: datetime | None
    """The first point back at or above the peak; None if still under water."""
    depth: float
    """Drawdown at the trough: a negative fraction."""
    periods: int
    """Periods closed under water (from the point after the peak to the one before recovery)."""
    duration: timedelta
    """Calendar time from the peak to the recovery (or to the last point if not recovered)."""


def drawdown_periods(equity: pd.Series, top: int | None = None) -> list[DrawdownPeriod]:
    """Every drawdown of the equity curve in time order, or the ``top`` deepest ones, deepest
    first. Vectorised: one pass to find the under-water runs, one sort to find their troughs."""
    if top is not None and top < 1:
        raise AnalyticsInputError(f"top must be at least 1, got {top}")
    values = equity.to_numpy(dtype=np.float64)
    if values.size == 0:
        return []
    drawdown = values / np.maximum.accumulate(values) - 1.0
    under = drawdown < 0.0
    if not under.any():
        return []
    padded = np.zeros(values.size + 2, dtype=np.int8)
    padded[1:-1] = under
    edges = np.diff(padded)
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)  # exclusive: the recovery point, or len if open
    positions = np.flatnonzero(under)
    segment = np.searchsorted(starts, positions, side="right") - 1
    order = np.lexsort((drawdown[positions], segment))
    first_of_segment = np.r_[0, np.flatnonzero(np.diff(segment[order])) + 1]
    troughs = positions[order[first_of_segment]]

    index = equity.index
    last = len(values) - 1
    chosen = np.arange(starts.size)
    if top is not None:
        chosen = np.argsort(drawdown[troughs], kind="stable")[:top]
    periods: list[DrawdownPeriod] = []
    for k in chosen:
        peak, end = int(starts[k]) - 1, int(ends[k])
        recovered = end <= last
        stop = end if recovered else last
        periods.append(
            DrawdownPeriod(
                peak=index[peak].to_pydatetime(),
                trough=index[int(troughs[k])].to_pydatetime(),
                recovery=index[end].to_pydatetime() if recovered else None,
                depth=float(drawdown[troughs[k]]),
                periods=int(ends[k] - starts[k]),
                duration=(index[stop] - index[peak]).to_pytimedelta(),
            )
        )
    return periods


def _check_window(returns: pd.Series, window: int) -> None:
    if isinstance(window, bool) or not isinstance(window, int) or window < 2:
        raise AnalyticsInputError(
            f"rolling window must be a whole number of at least 2, got {window!r}"
        )
    if window > len(returns):
        raise AnalyticsInputError(
            f"rolling window of {window} periods is longer than the {len(returns)} periods given"
        )


def _rolling_std(returns: pd.Series, window: int) -> pd.Series:
    rolling = returns.rolling(window, min_periods=window)
    std = rolling.std(ddof=1)
    # A window of equal values has no dispersion: pandas' online algorithm can leave a tiny
    # residue there, which would turn an infinite ratio into a huge finite one.
    constant = rolling.max() == rolling.min()
    return std.mask(constant, 0.0)


def rolling_volatility(returns: pd.Series, window: int, periods_per_year: float) -> pd.Series:
    """Annualised volatility over a trailing window of ``window`` periods (NaN until the first
    full window): sample std (ddof=1) times ``sqrt(periods_per_year)``."""
    _check_window(returns, window)
    check_periods_per_year(periods_per_year)
    result = _rolling_std(returns, window) * math.sqrt(periods_per_year)
    result.name = "volatility"
    return result


def rolling_sharpe(
    returns: pd.Series, window: int, periods_per_year: float, risk_free_annual: float = 0.0
) -> pd.Series:
    """Sharpe ratio over a trailing window of ``window`` periods (NaN until the first full
    window); same definition as :func:`analytics.domain.metrics.sharpe_ratio`."""
    _check_window(returns, window)
    rf = per_period_rate(risk_free_annual, periods_per_year)
    excess = returns - rf if rf != 0.0 else returns
    mean = excess.rolling(window, min_periods=window).mean()
    std = _rolling_std(excess, window)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.divide(mean.to_numpy(), std.to_numpy()) * math.sqrt(periods_per_year)
    return pd.Series(ratio, index=returns.index, name="sharpe")
