"""`trader metrics FILE`: the platform's metric set for the user's own equity or returns CSV.

``metrics_app`` is a Typer app with a single callback, so it works standalone and when the main
``trader`` CLI mounts it with ``app.add_typer(metrics_app, name="metrics")``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from analytics.domain.csv_series import SeriesKind
from analytics.domain.errors import AnalyticsInputError
from analytics.domain.metrics import EQUITY_PERIODS_PER_YEAR, PerformanceMetrics
from analytics.service.series_analysis import SeriesAnalysis, analyze_csv

metrics_app = typer.Typer(
    help="Performance metrics for your own equity or returns series (CSV).",
    add_completion=False,
    pretty_exceptions_enable=False,
    # A group whose callback takes FILE: let options follow FILE (groups stop parsing options at
    # the first positional by default) and show no COMMAND in the usage line.
    context_settings={"allow_interspersed_args": True},
    subcommand_metavar="",
)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise AnalyticsInputError(f"{path} is not UTF-8 text (expected a CSV file)") from None
    except OSError as error:
        raise AnalyticsInputError(f"cannot read {path}: {error.strerror or error}") from None


@metrics_app.callback(invoke_without_command=True)
def metrics(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV with a 'date' column (ISO 8601, UTC unless an offset is given) and one "
            "value column: equity or periodic returns.",
            exists=True,
            dir_okay=False,
            show_default=False,
        ),
    ],
    kind: Annotated[
        SeriesKind | None,
        typer.Option(
            "--kind",
            help="What the value column holds; detected from its name and values if omitted.",
            case_sensitive=False,
            show_default=False,
        ),
    ] = None,
    periods_per_year: Annotated[
        int,
        typer.Option(
            "--periods-per-year",
            min=1,
            help="Annualisation factor: 252 for daily equities, 365 for daily crypto.",
        ),
    ] = EQUITY_PERIODS_PER_YEAR,
    risk_free: Annotated[
        float,
        typer.Option(
            "--risk-free",
            help="Annual risk-free rate as a fraction (0.04 = 4%); converted per period as "
            "(1 + rate) ** (1 / periods_per_year) - 1.",
        ),
    ] = 0.0,
    benchmark: Annotated[
        Path | None,
        typer.Option(
            "--benchmark",
            help="CSV of the benchmark (prices or returns, same format) for alpha and beta.",
            exists=True,
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print JSON instead of a table.")
    ] = False,
) -> None:
    """Compute total return, CAGR, volatility, Sharpe, Sortino, Calmar, drawdowns, win/loss
    figures, exposure and (with --benchmark) alpha and beta for FILE."""
    try:
        analysis = analyze_csv(
            _read(file),
            source=file.name,
            kind=kind,
            periods_per_year=periods_per_year,
            risk_free_annual=risk_free,
            benchmark_text=_read(benchmark) if benchmark is not None else None,
            benchmark_source=benchmark.name if benchmark is not None else "the benchmark file",
        )
    except AnalyticsInputError as error:
        typer.secho(f"✗ {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    typer.echo(_as_json(analysis) if json_output else _as_table(analysis))


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _as_json(analysis: SeriesAnalysis) -> str:
    metrics = {key: _finite_or_none(value) for key, value in analysis.metrics.as_dict().items()}
    document = {
        "file": analysis.source,
        "column": analysis.column,
        "kind": analysis.kind.value,
        "kind_from": analysis.detected_by,
        "first_date": analysis.first_date.isoformat(),
        "last_date": analysis.last_date.isoformat(),
        "metrics": metrics,
        "benchmark": (
            {"file": analysis.benchmark_source, "periods": analysis.benchmark_periods}
            if analysis.benchmark_source is not None
            else None
        ),
    }
    return json.dumps(document, indent=2, allow_nan=False)


def _number(value: float, render: Callable[[float], str]) -> str:
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return render(value)


def _percent(value: float) -> str:
    return _number(value, lambda v: f"{v:.2%}")


def _ratio(value: float) -> str:
    return _number(value, lambda v: f"{v:.3f}")


def _rows(metrics: PerformanceMetrics) -> list[tuple[str, str]]:
    rows = [
        ("Total return", _percent(metrics.total_return)),
        ("CAGR", _percent(metrics.cagr)),
        ("Volatility (annualised)", _percent(metrics.annual_volatility)),
        ("Sharpe ratio", _ratio(metrics.sharpe)),
        ("Sortino ratio", _ratio(metrics.sortino)),
        ("Calmar ratio", _ratio(metrics.calmar)),
        ("Max drawdown", _percent(metrics.max_drawdown)),
        ("Max drawdown duration", f"{metrics.max_drawdown_duration} periods"),
        ("Win rate (periods)", _percent(metrics.win_rate)),
        ("Profit factor", _ratio(metrics.profit_factor)),
        ("Average win", _percent(metrics.avg_win)),
        ("Average loss", _percent(metrics.avg_loss)),
        ("Expectancy (per period)", _percent(metrics.expectancy)),
        ("Exposure (non-zero periods)", _percent(metrics.exposure)),
    ]
    if metrics.alpha is not None and metrics.beta is not None:
        rows += [("Alpha (annualised)", _percent(metrics.alpha)), ("Beta", _ratio(metrics.beta))]
    return rows


def _as_table(analysis: SeriesAnalysis) -> str:
    metrics = analysis.metrics
    how = (
        "given" if analysis.detected_by == "given" else f"detected from the {analysis.detected_by}"
    )
    header = [
        f"{analysis.source}: {analysis.column} as {analysis.kind.value} ({how})",
        f"{analysis.first_date.date()} → {analysis.last_date.date()}, {metrics.periods} periods, "
        f"{metrics.periods_per_year:g} periods/year, risk-free {metrics.risk_free_annual:.2%}/year",
    ]
    if analysis.benchmark_source is not None:
        header.append(
            f"benchmark: {analysis.benchmark_source} ({analysis.benchmark_periods} periods shared)"
        )
    rows = _rows(metrics)
    width = max(len(label) for label, _ in rows)
    value_width = max(len(value) for _, value in rows)
    lines = [*header, ""]
    lines += [f"{label:<{width}}  {value:>{value_width}}" for label, value in rows]
    return "\n".join(lines)
