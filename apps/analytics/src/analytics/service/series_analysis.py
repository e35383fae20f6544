"""Use case: the metric set for a series the user brings (``trader metrics FILE``)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import pandas as pd

from analytics.domain.csv_series import ParsedSeries, SeriesKind, parse_series_csv
from analytics.domain.errors import AnalyticsInputError
from analytics.domain.metrics import (
    PerformanceMetrics,
    alpha_beta,
    check_periods_per_year,
    compute_metrics,
    per_period_rate,
)


@dataclass(frozen=True, slots=True)
class SeriesAnalysis:
    """The metrics of one series, with what was understood of the input."""

    source: str
    column: str
    kind: SeriesKind
    detected_by: str
    first_date: datetime
    last_date: datetime
    metrics: PerformanceMetrics
    benchmark_source: str | None = None
    benchmark_periods: int | None = None
    """Periods shared with the benchmark, over which alpha and beta were estimated."""


def align_returns(returns: pd.Series, benchmark: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The two return series over the timestamps they share (exact matches)."""
    common = returns.index.intersection(benchmark.index)
    return returns.loc[common], benchmark.loc[common]


def analyze_series(
    series: ParsedSeries,
    *,
    periods_per_year: float,
    risk_free_annual: float = 0.0,
    benchmark: ParsedSeries | None = None,
) -> SeriesAnalysis:
    """The metric set over a parsed series; with a benchmark, alpha and beta over the return
    periods both series share (same timestamps)."""
    check_periods_per_year(periods_per_year)
    returns = series.returns
    metrics = compute_metrics(
        returns.to_numpy(), periods_per_year=periods_per_year, risk_free_annual=risk_free_annual
    )
    benchmark_periods: int | None = None
    if benchmark is not None:
        mine, theirs = align_returns(returns, benchmark.returns)
        benchmark_periods = len(mine)
        if benchmark_periods < 2:
            raise AnalyticsInputError(
                f"{benchmark.source} shares {benchmark_periods} return period"
                f"{'s' if benchmark_periods != 1 else ''} with {series.source}: at least 2 "
                "dates in common are needed for alpha and beta"
            )
        alpha, beta = alpha_beta(
            mine.to_numpy(),
            theirs.to_numpy(),
            per_period_rate(risk_free_annual, periods_per_year),
            periods_per_year,
        )
        metrics = replace(metrics, alpha=alpha, beta=beta)
    return SeriesAnalysis(
        source=series.source,
        column=series.column,
        kind=series.kind,
        detected_by=series.detected_by,
        first_date=series.values.index[0].to_pydatetime(),
        last_date=series.values.index[-1].to_pydatetime(),
        metrics=metrics,
        benchmark_source=benchmark.source if benchmark is not None else None,
        benchmark_periods=benchmark_periods,
    )


def analyze_csv(
    text: str,
    *,
    source: str,
    kind: SeriesKind | None = None,
    periods_per_year: float,
    risk_free_annual: float = 0.0,
    benchmark_text: str | None = None,
    benchmark_source: str = "the benchmark file",
) -> SeriesAnalysis:
    """Parse CSV texts (see :mod:`analytics.domain.csv_series`) and analyse them. The benchmark's
    kind is always detected."""
    check_periods_per_year(periods_per_year)
    per_period_rate(risk_free_annual, periods_per_year)  # reject a bad rate before parsing
    series = parse_series_csv(text, kind=kind, source=source)
    benchmark = (
        parse_series_csv(benchmark_text, source=benchmark_source)
        if benchmark_text is not None
        else None
    )
    return analyze_series(
        series,
        periods_per_year=periods_per_year,
        risk_free_annual=risk_free_annual,
        benchmark=benchmark,
    )
