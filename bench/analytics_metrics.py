"""The analytics metric set over 1,000,000 points: our vectorised engine vs quantstats.

Run: ``.venv/bin/python -m bench analytics_metrics``. Prints figures; asserts nothing. Aim: the
whole set (total return, CAGR, volatility, Sharpe, Sortino, Calmar, max drawdown and its
duration, win rate, profit factor, average win/loss, expectancy, exposure, alpha/beta) in
under 100 ms.
"""

from __future__ import annotations

import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

POINTS = 1_000_000
PERIODS_PER_YEAR = 252
RISK_FREE_ANNUAL = 0.04
OUR_REPEATS = 7
THEIR_REPEATS = 3


def _median_ms(function: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    result = function()  # warm-up (imports, caches, page faults)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def main() -> None:
    import quantstats as qs

    from analytics.domain import metrics as m
    from analytics.domain.trades import win_loss_stats

    warnings.simplefilter("ignore")
    qstats: Any = qs.stats  # partly untyped: call it as Any
    rng = np.random.default_rng(42)
    returns = rng.normal(0.0002, 0.01, POINTS)
    benchmark = 0.5 * returns + rng.normal(0.0, 0.008, POINTS)
    # quantstats wants a time index; hourly keeps a million points inside pandas' date range.
    index = pd.date_range("1990-01-01", periods=POINTS, freq="h")
    series = pd.Series(returns, index=index)
    bench_series = pd.Series(benchmark, index=index)
    rf = m.per_period_rate(RISK_FREE_ANNUAL, PERIODS_PER_YEAR)
    ppy = PERIODS_PER_YEAR

    def qs_drawdown_duration() -> float:
        details = qstats.drawdown_details(qstats.to_drawdown_series(series))
        return float(details["days"].max())

    # (metric, ours, quantstats) — same definitions except where noted in the footer.
    rows: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
        ("total return", lambda: m.total_return(returns), lambda: qstats.comp(series)),
        ("CAGR", lambda: m.cagr(returns, ppy), lambda: qstats.cagr(series, periods=ppy)),
        (
            "volatility",
            lambda: m.annual_volatility(returns, ppy),
            lambda: qstats.volatility(series, periods=ppy),
        ),
        (
            "Sharpe",
            lambda: m.sharpe_ratio(returns, rf, ppy),
            lambda: qstats.sharpe(series, rf=RISK_FREE_ANNUAL, periods=ppy),
        ),
        (
            "Sortino",
            lambda: m.sortino_ratio(returns, rf, ppy),
            lambda: qstats.sortino(series, rf=RISK_FREE_ANNUAL, periods=ppy),
        ),
        (
            "Calmar",
            lambda: m.calmar_ratio(returns, ppy),
            lambda: qstats.calmar(series, periods=ppy),
        ),
        ("max drawdown", lambda: m.max_drawdown(returns), lambda: qstats.max_drawdown(series)),
        ("max DD duration", lambda: m.max_drawdown_duration(returns), qs_drawdown_duration),
        (
            "win/loss set",
            lambda: win_loss_stats(returns),
            lambda: (
                qstats.win_rate(series),
                qstats.profit_factor(series),
                qstats.avg_win(series),
                qstats.avg_loss(series),
                qstats.avg_return(series),
            ),
        ),
        ("exposure", lambda: m.exposure(returns), lambda: qstats.exposure(series)),
        (
            "alpha/beta",
            lambda: m.alpha_beta(returns, benchmark, rf, ppy),
            lambda: qstats.greeks(series, bench_series, periods=ppy),
        ),
    ]

    print(
        f"{POINTS:,} points, {ppy} periods/year, risk-free {RISK_FREE_ANNUAL:.0%}/year, "
        f"median of {OUR_REPEATS} runs (ours) / {THEIR_REPEATS} runs (quantstats {qs.__version__})"
    )
    print(f"{'metric':<18}{'ours ms':>10}{'quantstats ms':>16}{'speed-up':>10}")
    ours_total = theirs_total = 0.0
    results: dict[str, tuple[Any, Any]] = {}
    for name, ours, theirs in rows:
        our_ms, our_value = _median_ms(ours, OUR_REPEATS)
        their_ms, their_value = _median_ms(theirs, THEIR_REPEATS)
        ours_total += our_ms
        theirs_total += their_ms
        results[name] = (our_value, their_value)
        print(f"{name:<18}{our_ms:>10.2f}{their_ms:>16.1f}{their_ms / our_ms:>9.0f}x")
    print(f"{'sum of the above':<18}{ours_total:>10.2f}{theirs_total:>16.1f}")

    whole_ms, metrics = _median_ms(
        lambda: m.compute_metrics(
            returns,
            periods_per_year=ppy,
            risk_free_annual=RISK_FREE_ANNUAL,
            benchmark_returns=benchmark,
        ),
        OUR_REPEATS,
    )
    verdict = "under" if whole_ms < 100 else "OVER"
    print(
        f"\ncompute_metrics (whole set, one pass, with benchmark): {whole_ms:.1f} ms "
        f"({verdict} the 100 ms aim); quantstats for the same set: {theirs_total:,.0f} ms"
    )

    agreement = {
        "CAGR": (metrics.cagr, results["CAGR"][1]),
        "volatility": (metrics.annual_volatility, results["volatility"][1]),
        "Sharpe": (metrics.sharpe, results["Sharpe"][1]),
        "Sortino": (metrics.sortino, results["Sortino"][1]),
        "max drawdown": (metrics.max_drawdown, results["max drawdown"][1]),
        "win rate": (metrics.win_rate, results["win/loss set"][1][0]),
        "profit factor": (metrics.profit_factor, results["win/loss set"][1][1]),
        "expectancy": (metrics.expectancy, results["win/loss set"][1][4]),
    }
    worst = max(abs(a - float(b)) / max(abs(a), 1e-300) for a, b in agreement.values())
    print(f"largest relative difference from quantstats on shared definitions: {worst:.1e}")
    print(
        "not comparable one-to-one: quantstats' drawdown duration is in calendar days from "
        "drawdown_details (ours: periods), its alpha is simple (mean excess x periods; ours: "
        "empyrical's compounded), and its exposure rounds up to whole percent."
    )


if __name__ == "__main__":
    main()
