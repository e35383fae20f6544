"""The user-series use case: parse, compute, align a benchmark."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.domain import metrics as m
from analytics.domain.csv_series import SeriesKind
from analytics.domain.errors import AnalyticsInputError
from analytics.service.series_analysis import analyze_csv

EQUITY = "date,equity\n2024-01-02,100\n2024-01-03,102\n2024-01-04,101\n2024-01-05,104\n"
BENCHMARK = "date,close\n2024-01-02,50\n2024-01-03,50.5\n2024-01-04,50.2\n2024-01-05,51\n"


def test_analyze_csv_equity_metrics_match_domain_on_its_returns() -> None:
    analysis = analyze_csv(EQUITY, source="eq.csv", periods_per_year=252, risk_free_annual=0.02)
    returns = m.returns_from_equity([100, 102, 101, 104])
    expected = m.compute_metrics(returns, periods_per_year=252, risk_free_annual=0.02)
    assert analysis.metrics == expected
    assert analysis.kind is SeriesKind.EQUITY
    assert analysis.first_date.isoformat() == "2024-01-02T00:00:00+00:00"
    assert analysis.last_date.isoformat() == "2024-01-05T00:00:00+00:00"
    assert analysis.benchmark_source is None


def test_analyze_csv_with_benchmark_prices_adds_alpha_beta() -> None:
    analysis = analyze_csv(
        EQUITY,
        source="eq.csv",
        periods_per_year=252,
        benchmark_text=BENCHMARK,
        benchmark_source="spy.csv",
    )
    alpha, beta = m.alpha_beta(
        m.returns_from_equity([100, 102, 101, 104]), m.returns_from_equity([50, 50.5, 50.2, 51])
    )
    assert analysis.metrics.beta == pytest.approx(beta)
    assert analysis.metrics.alpha == pytest.approx(alpha)
    assert analysis.benchmark_source == "spy.csv"
    assert analysis.benchmark_periods == 3


def test_analyze_csv_benchmark_aligned_on_shared_dates_only() -> None:
    returns = "date,returns\n2024-01-02,0.01\n2024-01-03,-0.02\n2024-01-04,0.015\n2024-01-05,0.0\n"
    benchmark = "date,returns\n2024-01-03,-0.01\n2024-01-05,0.002\n2024-01-08,0.01\n"
    analysis = analyze_csv(returns, source="r.csv", periods_per_year=365, benchmark_text=benchmark)
    assert analysis.benchmark_periods == 2
    _, beta = m.alpha_beta([-0.02, 0.0], [-0.01, 0.002], 0.0, 365)
    assert analysis.metrics.beta == pytest.approx(beta)
    assert analysis.metrics.periods == 4  # the other metrics keep every period


def test_analyze_csv_benchmark_sharing_one_date_raises() -> None:
    benchmark = "date,returns\n2024-01-03,-0.01\n2024-02-01,0.002\n"
    with pytest.raises(AnalyticsInputError, match=r"b\.csv shares 1 return period with eq\.csv"):
        analyze_csv(
            EQUITY,
            source="eq.csv",
            periods_per_year=252,
            benchmark_text=benchmark,
            benchmark_source="b.csv",
        )


def test_analyze_csv_bad_benchmark_raises_naming_benchmark() -> None:
    with pytest.raises(AnalyticsInputError, match=r"b\.csv has no 'date' column"):
        analyze_csv(
            EQUITY,
            source="eq.csv",
            periods_per_year=252,
            benchmark_text="when,close\n1,2\n",
            benchmark_source="b.csv",
        )


def test_analyze_csv_bad_risk_free_raises_before_parsing() -> None:
    with pytest.raises(AnalyticsInputError, match="risk-free"):
        analyze_csv("garbage", source="eq.csv", periods_per_year=252, risk_free_annual=-1.0)


def test_analyze_csv_explicit_kind_changes_the_reading() -> None:
    text = "date,value\n2024-01-02,1.0\n2024-01-03,1.1\n2024-01-04,1.21\n"
    as_equity = analyze_csv(text, source="x.csv", periods_per_year=252)
    as_returns = analyze_csv(text, source="x.csv", periods_per_year=252, kind=SeriesKind.RETURNS)
    assert as_equity.metrics.periods == 2
    assert as_equity.metrics.total_return == pytest.approx(0.21)
    assert as_returns.metrics.periods == 3
    assert as_returns.metrics.total_return == pytest.approx(np.prod([2.0, 2.1, 2.21]) - 1)
