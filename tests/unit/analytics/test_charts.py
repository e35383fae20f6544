"""Chart rendering: real PNG and SVG bytes, and clear errors for unusable input."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from analytics.adapters.charts import (
    MatplotlibChartRenderer,
    render_equity_curve,
    render_monthly_returns,
    render_pnl_by_symbol,
)
from analytics.domain.errors import AnalyticsInputError
from analytics.domain.history import equity_of_returns, monthly_returns_table

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _returns(n: int = 300) -> pd.Series:
    rng = np.random.default_rng(11)
    index = pd.date_range("2023-01-02", periods=n, freq="B", tz="UTC")
    return pd.Series(rng.normal(0.0005, 0.01, n), index=index)


def _svg_root(image: bytes) -> ET.Element:
    return ET.fromstring(image)


def _assert_png(image: bytes) -> None:
    assert image.startswith(PNG_SIGNATURE)
    assert len(image) > 5_000  # a real picture, not an empty canvas


def _assert_svg(image: bytes) -> None:
    root = _svg_root(image)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert len(root.findall(".//{http://www.w3.org/2000/svg}path")) > 10


def test_render_equity_curve_png_and_svg() -> None:
    equity = equity_of_returns(_returns(), 10_000.0)
    _assert_png(render_equity_curve(equity, title="Paper", fmt="png"))
    _assert_svg(render_equity_curve(equity, title="Paper", fmt="svg"))


def test_render_equity_curve_svg_has_title_text() -> None:
    image = render_equity_curve(equity_of_returns(_returns()), title="Account paper-1", fmt="svg")
    assert b"Account paper-1" in image


def test_render_equity_curve_million_points_svg_stays_small() -> None:
    rng = np.random.default_rng(5)
    index = pd.date_range("2000-01-01", periods=1_000_000, freq="h", tz="UTC")
    equity = equity_of_returns(pd.Series(rng.normal(0, 0.001, index.size), index=index))
    image = render_equity_curve(equity, fmt="svg")
    _assert_svg(image)
    assert len(image) < 2_000_000


def test_render_monthly_returns_png_and_svg() -> None:
    table = monthly_returns_table(_returns())
    _assert_png(render_monthly_returns(table, fmt="png"))
    _assert_svg(render_monthly_returns(table, fmt="svg"))


def test_render_pnl_by_symbol_png_and_svg() -> None:
    pnl = {"AAPL": Decimal("120.5"), "BTC-USD": Decimal("-40.25"), "MSFT": Decimal("10")}
    _assert_png(render_pnl_by_symbol(pnl, fmt="png"))
    svg = render_pnl_by_symbol(pnl, fmt="svg")
    _assert_svg(svg)
    assert b"BTC-USD" in svg


def test_renderer_class_implements_the_port() -> None:
    renderer = MatplotlibChartRenderer()
    equity = equity_of_returns(_returns(50))
    _assert_png(renderer.equity_curve(equity, title="t", fmt="png"))
    _assert_png(renderer.monthly_returns(monthly_returns_table(_returns(50)), title="t", fmt="png"))
    _assert_png(renderer.pnl_by_symbol({"A": Decimal(1)}, title="t", fmt="png"))


def test_render_unknown_format_raises() -> None:
    with pytest.raises(AnalyticsInputError, match="unknown chart format 'gif'"):
        render_pnl_by_symbol({"A": Decimal(1)}, fmt="gif")  # type: ignore[arg-type]


def test_render_equity_curve_single_point_raises() -> None:
    single = pd.Series([1.0], index=pd.DatetimeIndex(["2024-01-01"], tz="UTC"))
    with pytest.raises(AnalyticsInputError, match="at least 2 points"):
        render_equity_curve(single)


def test_render_monthly_returns_empty_table_raises() -> None:
    with pytest.raises(AnalyticsInputError, match="at least one month"):
        render_monthly_returns(pd.DataFrame(columns=[*range(1, 13), "year"]))


def test_render_pnl_by_symbol_no_symbols_raises() -> None:
    with pytest.raises(AnalyticsInputError, match="at least one symbol"):
        render_pnl_by_symbol({})
