"""Parsing users' CSV series: what is accepted, how the kind is detected, and every error."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.domain.csv_series import SeriesKind, detect_kind, parse_series_csv
from analytics.domain.errors import AnalyticsInputError

EQUITY = "date,equity\n2024-01-02,100\n2024-01-03,110\n2024-01-04,99\n"


def _parse(text: str, kind: SeriesKind | None = None) -> object:
    return parse_series_csv(text, kind=kind, source="my.csv")


def test_parse_equity_csv_gives_utc_series_and_returns() -> None:
    parsed = parse_series_csv(EQUITY, source="my.csv")
    assert parsed.kind is SeriesKind.EQUITY
    assert parsed.detected_by == "column name"
    assert parsed.column == "equity"
    assert str(parsed.values.index.tz) == "UTC"
    assert parsed.values.index[0] == pd.Timestamp("2024-01-02", tz="UTC")
    np.testing.assert_allclose(parsed.returns.to_numpy(), [0.1, -0.1])


def test_parse_returns_csv_returns_are_the_values() -> None:
    parsed = parse_series_csv("date,daily_return\n2024-01-02,0.01\n2024-01-03,-0.02\n")
    assert parsed.kind is SeriesKind.RETURNS
    assert parsed.returns.tolist() == [0.01, -0.02]


def test_parse_offsets_are_converted_to_utc_and_naive_dates_are_utc() -> None:
    parsed = parse_series_csv(
        "date,value\n2024-01-02T16:00:00-05:00,100\n2024-01-03T21:00:00Z,101\n2024-01-04,102\n"
    )
    assert list(parsed.values.index) == [
        pd.Timestamp("2024-01-02 21:00", tz="UTC"),
        pd.Timestamp("2024-01-03 21:00", tz="UTC"),
        pd.Timestamp("2024-01-04 00:00", tz="UTC"),
    ]


def test_parse_tolerates_bom_spaces_case_quotes_and_blank_lines() -> None:
    text = '\ufeff Date , NAV \n\n"2024-01-02", 100.5 \n\n2024-01-03,"101"\n\n'
    parsed = parse_series_csv(text)
    assert parsed.column == "NAV"
    assert parsed.values.tolist() == [100.5, 101.0]


def test_parse_value_column_may_come_first() -> None:
    parsed = parse_series_csv("equity,date\n100,2024-01-02\n105,2024-01-03\n")
    assert parsed.values.tolist() == [100.0, 105.0]


@pytest.mark.parametrize(
    ("column", "values", "kind", "how"),
    [
        ("strategy_returns", [5.0, 6.0], SeriesKind.RETURNS, "column name"),
        ("ret", [0.01, 0.02], SeriesKind.RETURNS, "column name"),
        ("pct_change", [0.01, 0.02], SeriesKind.RETURNS, "column name"),
        ("balance", [0.1, 0.2], SeriesKind.EQUITY, "column name"),
        ("close", [470.0, 471.0], SeriesKind.EQUITY, "column name"),
        ("value", [0.01, -0.02], SeriesKind.RETURNS, "values"),
        ("value", [0.01, 0.02], SeriesKind.RETURNS, "values"),
        ("value", [1.0, 1.02], SeriesKind.EQUITY, "values"),
        ("value", [10_000.0, 9_500.0], SeriesKind.EQUITY, "values"),
    ],
)
def test_detect_kind_by_name_then_values(
    column: str, values: list[float], kind: SeriesKind, how: str
) -> None:
    assert detect_kind(column, np.asarray(values)) == (kind, how)


def test_parse_given_kind_overrides_detection() -> None:
    parsed = parse_series_csv(
        "date,equity\n2024-01-02,0.01\n2024-01-03,0.02\n", kind=SeriesKind.RETURNS
    )
    assert parsed.kind is SeriesKind.RETURNS
    assert parsed.detected_by == "given"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "my.csv is empty"),
        ("\n\n  \n", "my.csv is empty"),
        ("date,equity\n", "my.csv has 0 data rows: at least 2 are needed"),
        ("date,equity\n2024-01-02,100\n", "my.csv has 1 data row: at least 2"),
        ("day,equity\n2024-01-02,100\n", r"no 'date' column \(columns found: day, equity\)"),
        ("date\n2024-01-02\n2024-01-03\n", r"exactly one value column .* found 0 \(none\)"),
        ("date,a,b\n2024-01-02,1,2\n", r"exactly one value column .* found 2 \(a, b\)"),
        ("date,Date\n2024-01-02,1\n", "column 'date' appears more than once"),
        ("date,\n2024-01-02,1\n2024-01-03,2\n", "value column has no name"),
        (
            "date,equity\n2024-01-02,100\n2024-01-03,101,7\n",
            r"line 3: expected 2 fields .* found 3",
        ),
        ("date,equity\n2024-01-02\n2024-01-03,101\n", r"line 2: expected 2 fields .* found 1"),
        (
            "date,equity\n2024-01-02,100\n01/03/2024,101\n",
            r"line 3: date '01/03/2024' is not an ISO",
        ),
        (
            "date,equity\n2024-01-02,100\n2024-02-30,101\n",
            r"line 3: date '2024-02-30' is not an ISO",
        ),
        ("date,equity\n2024-01-02,100\n ,101\n", "line 3: date is empty"),
        ("date,equity\n2024-01-02,100\n2024-01-03,abc\n", "line 3: equity 'abc' is not a number"),
        ('date,equity\n2024-01-02,100\n2024-01-03,"1,5"\n', "line 3: equity '1,5' is not a number"),
        ("date,equity\n2024-01-02,\n2024-01-03,5\n", "line 2: equity is empty"),
        ("date,equity\n2024-01-02,nan\n2024-01-03,5\n", "line 2: equity 'nan' is not a number"),
        ("date,equity\n2024-01-02,inf\n2024-01-03,5\n", "line 2: equity 'inf' is not a finite"),
        (
            "date,equity\n2024-01-03,100\n2024-01-02,101\n",
            r"not in ascending order: line 3 \(2024-01-02\) comes after line 2 \(2024-01-03\)",
        ),
        (
            "date,equity\n2024-01-02,100\n\n2024-01-02,101\n",
            r"date 2024-01-02 appears more than once \(lines 2 and 4\)",
        ),
        (
            "date,equity\n2024-01-02T00:00:00+01:00,100\n2024-01-01T23:00:00Z,101\n",
            "appears more than once",
        ),
        ("date,equity\n2024-01-02,100\n2024-01-03,0\n", "line 3: equity must be positive, got 0"),
        ("date,returns\n2024-01-02,0.1\n2024-01-03,-1.5\n", "line 3: return -1.5 is below -1"),
        ("date,equity\n2024-01-02,1\n2024-01-03," + "9" * 200_000 + "\n", "line 3: not valid CSV"),
    ],
)
def test_parse_bad_csv_raises_error_naming_source_line_and_problem(text: str, message: str) -> None:
    with pytest.raises(AnalyticsInputError, match=message) as caught:
        _parse(text)
    assert "my.csv" in str(caught.value)


def test_parse_detected_equity_with_negative_value_hints_at_kind() -> None:
    with pytest.raises(AnalyticsInputError, match="give the kind"):
        _parse("date,equity\n2024-01-02,0.01\n2024-01-03,-0.02\n")


def test_parse_given_equity_with_negative_value_raises_without_hint() -> None:
    with pytest.raises(AnalyticsInputError, match=r"must be positive, got -0.02$"):
        _parse("date,value\n2024-01-02,0.01\n2024-01-03,-0.02\n", kind=SeriesKind.EQUITY)
