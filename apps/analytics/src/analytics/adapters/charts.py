"""Server-side charts with matplotlib, as PNG or SVG bytes.

Each render builds its own ``Figure`` on an Agg canvas inside the function: no pyplot, no
global backend switch and nothing done at import time, so renders are safe from worker threads
(the service runs them with ``asyncio.to_thread``). SVG output goes through matplotlib's SVG
backend from the same figure.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analytics.domain.errors import AnalyticsInputError
from analytics.domain.history import underwater
from analytics.service.ports import CHART_FORMATS, ChartFormat

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_MAX_PLOTTED_POINTS = 4000
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_UP, _DOWN, _LINE = "#2e7d32", "#c62828", "#1f4e79"


def _new_figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)  # the Agg backend for this figure only
    return figure


def _to_bytes(figure: Figure, fmt: ChartFormat) -> bytes:
    if fmt not in CHART_FORMATS:
        raise AnalyticsInputError(
            f"unknown chart format {fmt!r}: expected one of {', '.join(CHART_FORMATS)}"
        )
    buffer = io.BytesIO()
    metadata: dict[str, Any] = {"Date": None} if fmt == "svg" else {}
    figure.savefig(buffer, format=fmt, metadata=metadata)
    return buffer.getvalue()


def _decimate(series: pd.Series) -> pd.Series:
    """At most about ``_MAX_PLOTTED_POINTS`` points: each bucket's first, min and max, so peaks
    and troughs survive (a million points would make a multi-megabyte SVG)."""
    n = len(series)
    if n <= _MAX_PLOTTED_POINTS:
        return series
    buckets = _MAX_PLOTTED_POINTS // 3
    edges = np.linspace(0, n, buckets + 1, dtype=np.int64)
    values = series.to_numpy()
    keep = [0, n - 1]
    for start, stop in itertools.pairwise(edges):
        if stop > start:
            chunk = values[start:stop]
            keep.extend((int(start), int(start + chunk.argmin()), int(start + chunk.argmax())))
    return series.iloc[np.unique(keep)]


def _naive_utc(index: pd.DatetimeIndex) -> np.ndarray:
    return np.asarray(index.tz_convert("UTC").tz_localize(None).to_numpy())


def render_equity_curve(
    equity: pd.Series, *, title: str = "Equity", fmt: ChartFormat = "png"
) -> bytes:
    """Equity curve above its underwater (drawdown) plot, sharing the time axis (UTC)."""
    from matplotlib.ticker import PercentFormatter, StrMethodFormatter

    if len(equity) < 2:
        raise AnalyticsInputError("the equity chart needs at least 2 points")
    drawdown = underwater(equity)
    figure = _new_figure(10, 6)
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    shown = _decimate(equity)
    top.plot(_naive_utc(shown.index), shown.to_numpy(), color=_LINE, linewidth=1.2)
    top.set_title(title)
    top.set_ylabel("Equity")
    top.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    top.grid(alpha=0.3)
    shown_dd = _decimate(drawdown)
    x = _naive_utc(shown_dd.index)
    bottom.fill_between(x, shown_dd.to_numpy(), 0.0, color=_DOWN, alpha=0.35, linewidth=0)
    bottom.plot(x, shown_dd.to_numpy(), color=_DOWN, linewidth=0.8)
    bottom.set_ylabel("Drawdown")
    bottom.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    bottom.set_ylim(top=0.0)
    bottom.set_xlabel("Time (UTC)")
    bottom.grid(alpha=0.3)
    return _to_bytes(figure, fmt)


def render_monthly_returns(
    table: pd.DataFrame, *, title: str = "Monthly returns", fmt: ChartFormat = "png"
) -> bytes:
    """Heatmap of monthly returns (rows years, columns months; green up, red down, blank where
    a month has no data), with each year's compounded return on the right."""
    from matplotlib.colors import TwoSlopeNorm

    months = table.reindex(columns=range(1, 13))
    if months.empty or months.isna().all().all():
        raise AnalyticsInputError("the monthly-returns chart needs at least one month of returns")
    values = months.to_numpy(dtype=np.float64)
    years = [str(year) for year in months.index]
    limit = float(np.nanmax(np.abs(values))) or 0.01
    figure = _new_figure(11, 1.2 + 0.45 * len(years))
    axes = figure.subplots()
    image = axes.imshow(
        np.ma.masked_invalid(values),
        cmap="RdYlGn",
        norm=TwoSlopeNorm(vmin=-limit, vcenter=0.0, vmax=limit),
        aspect="auto",
    )
    has_totals = "year" in table.columns
    axes.set_xticks(
        [*range(12), 12.4] if has_totals else range(12),
        [*_MONTHS, "Year"] if has_totals else _MONTHS,
    )
    axes.set_yticks(range(len(years)), years)
    axes.tick_params(length=0)
    axes.set_title(title)
    for row, col in zip(*np.nonzero(np.isfinite(values)), strict=True):
        value = values[row, col]
        axes.text(
            col,
            row,
            f"{value:.1%}",
            ha="center",
            va="center",
            fontsize=8,
            color="black" if abs(value) < 0.6 * limit else "white",
        )
    if has_totals:
        for row, total in enumerate(table["year"].to_numpy(dtype=np.float64)):
            axes.text(
                12.4,
                row,
                f"{total:+.1%}",
                ha="center",
                va="center",
                fontsize=9,
                color=_UP if total >= 0 else _DOWN,
                fontweight="bold",
            )
    axes.set_xlim(-0.5, 13.0 if has_totals else 11.5)
    for side in ("top", "right", "bottom", "left"):
        axes.spines[side].set_visible(False)
    figure.colorbar(image, ax=axes, format="{x:.0%}", shrink=0.8)
    return _to_bytes(figure, fmt)


def render_pnl_by_symbol(
    pnl: Mapping[str, Decimal], *, title: str = "Realised P&L by symbol", fmt: ChartFormat = "png"
) -> bytes:
    """Horizontal bars of realised P&L per symbol, largest on top (green profit, red loss)."""
    if not pnl:
        raise AnalyticsInputError("the P&L-by-symbol chart needs at least one symbol")
    ordered = sorted(pnl.items(), key=lambda item: item[1])
    symbols = [symbol for symbol, _ in ordered]
    # Drawing needs floats; the Decimal amounts are only shown, never computed with.
    amounts = [float(amount) for _, amount in ordered]
    figure = _new_figure(9, 1.5 + 0.35 * len(symbols))
    axes = figure.subplots()
    colours = [_UP if amount >= 0 else _DOWN for amount in amounts]
    bars = axes.barh(symbols, amounts, color=colours)
    axes.bar_label(bars, labels=[f"{amount:,.2f}" for _, amount in ordered], padding=3, fontsize=8)
    axes.axvline(0.0, color="black", linewidth=0.8)
    axes.set_title(title)
    axes.set_xlabel("Realised P&L")
    axes.margins(x=0.15)
    axes.grid(axis="x", alpha=0.3)
    return _to_bytes(figure, fmt)


class MatplotlibChartRenderer:
    """The :class:`analytics.service.ports.ChartRenderer` port, with matplotlib."""

    def equity_curve(self, equity: pd.Series, *, title: str, fmt: ChartFormat) -> bytes:
        return render_equity_curve(equity, title=title, fmt=fmt)

    def monthly_returns(self, table: pd.DataFrame, *, title: str, fmt: ChartFormat) -> bytes:
        return render_monthly_returns(table, title=title, fmt=fmt)

    def pnl_by_symbol(self, pnl: Mapping[str, Decimal], *, title: str, fmt: ChartFormat) -> bytes:
        return render_pnl_by_symbol(pnl, title=title, fmt=fmt)
