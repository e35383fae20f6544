"""Users' own series: a CSV text with a ``date`` column and exactly one value column holding
either an equity curve or periodic returns.

Pure: takes the text (the caller reads the file) and returns a checked UTC series, or raises
:class:`AnalyticsInputError` naming the source, the line and what was wrong.

* ``date``: ISO 8601 (``2024-01-31``, ``2024-01-31T16:00:00``, with an optional offset such as
  ``+02:00`` or ``Z``). Dates without an offset are UTC. Strictly ascending, no duplicates.
* the value column: numbers (``.`` decimal point), finite. Equity must be positive; a return
  cannot be below -1 (-100%).
* the kind (equity or returns) is taken as given, else detected: by the column's name first
  (``equity``, ``nav``, ``balance``, ``wealth``, ``portfolio``, ``price``, ``close`` mean equity;
  ``return``, ``ret``, ``pct``, ``change`` mean returns), else by the values (any value at or
  below zero, or a median under 0.5, means returns; otherwise equity).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from .errors import AnalyticsInputError
from .history import returns_of_equity

if TYPE_CHECKING:
    import _csv


class SeriesKind(StrEnum):
    EQUITY = "equity"
    RETURNS = "returns"


DetectedBy = Literal["given", "column name", "values"]

_EQUITY_NAMES = re.compile(r"equity|nav|balance|wealth|portfolio|price|close")
_RETURNS_NAMES = re.compile(r"return|(^|[^a-z])ret($|[^a-z])|pct|change")
_MIN_ROWS = 2
_EQUITY_MEDIAN_FLOOR = 0.5


@dataclass(frozen=True, eq=False)
class ParsedSeries:
    """A checked series from a CSV text."""

    source: str
    column: str
    kind: SeriesKind
    detected_by: DetectedBy
    values: pd.Series
    """The value column over a UTC DatetimeIndex, as float64."""

    @property
    def returns(self) -> pd.Series:
        """Period returns: the values themselves, or the equity curve's returns (one fewer)."""
        if self.kind is SeriesKind.RETURNS:
            return self.values
        return returns_of_equity(self.values)


def detect_kind(column: str, values: np.ndarray) -> tuple[SeriesKind, DetectedBy]:
    """Equity or returns, from the column name, else from the values."""
    name = column.strip().lower()
    if _RETURNS_NAMES.search(name):
        return SeriesKind.RETURNS, "column name"
    if _EQUITY_NAMES.search(name):
        return SeriesKind.EQUITY, "column name"
    if (values <= 0).any() or float(np.median(values)) < _EQUITY_MEDIAN_FLOOR:
        return SeriesKind.RETURNS, "values"
    return SeriesKind.EQUITY, "values"


def parse_series_csv(
    text: str, *, kind: SeriesKind | None = None, source: str = "the CSV file"
) -> ParsedSeries:
    """Parse and check a ``date`` + one value column CSV text (see the module docstring)."""
    column, dates, raw_values, lines = _read_rows(text, source)
    if len(dates) < _MIN_ROWS:
        raise AnalyticsInputError(
            f"{source} has {len(dates)} data row{'s' if len(dates) != 1 else ''}: "
            f"at least {_MIN_ROWS} are needed"
        )
    index = _parse_dates(dates, lines, source)
    values = _parse_values(raw_values, lines, column, source)

    detected_by: DetectedBy = "given"
    if kind is None:
        kind, detected_by = detect_kind(column, values)
    if kind is SeriesKind.EQUITY and (values <= 0).any():
        position = int(np.argmax(values <= 0))
        hint = "" if detected_by == "given" else " (if the column holds returns, give the kind)"
        raise AnalyticsInputError(
            f"{source} line {lines[position]}: equity must be positive, got "
            f"{raw_values[position].strip()}{hint}"
        )
    if kind is SeriesKind.RETURNS and (values < -1.0).any():
        position = int(np.argmax(values < -1.0))
        raise AnalyticsInputError(
            f"{source} line {lines[position]}: return {raw_values[position].strip()} is below -1 "
            "(a loss of more than 100%)"
        )
    series = pd.Series(values, index=index, name=column)
    return ParsedSeries(
        source=source, column=column, kind=kind, detected_by=detected_by, values=series
    )


def _read_rows(text: str, source: str) -> tuple[str, list[str], list[str], list[int]]:
    """The value column's name, and the date and value fields with their line numbers."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    try:
        return _collect(reader, source)
    except csv.Error as error:
        raise AnalyticsInputError(
            f"{source} line {reader.line_num}: not valid CSV ({error})"
        ) from None


def _collect(reader: _csv.Reader, source: str) -> tuple[str, list[str], list[str], list[int]]:
    header: list[str] | None = None
    width = 0
    dates: list[str] = []
    values: list[str] = []
    lines: list[int] = []
    date_position = value_position = 0
    for row in reader:
        if not row or all(not field.strip() for field in row):
            continue
        if header is None:
            header = [name.strip() for name in row]
            width = len(header)
            date_position, value_position = _columns(header, source)
            continue
        if len(row) != width:
            raise AnalyticsInputError(
                f"{source} line {reader.line_num}: expected {width} fields "
                f"({', '.join(header)}), found {len(row)}"
            )
        dates.append(row[date_position])
        values.append(row[value_position])
        lines.append(reader.line_num)
    if header is None:
        raise AnalyticsInputError(
            f"{source} is empty: expected a header line such as 'date,equity' and data rows"
        )
    return header[value_position], dates, values, lines


def _columns(header: list[str], source: str) -> tuple[int, int]:
    lowered = [name.lower() for name in header]
    for name in lowered:
        if lowered.count(name) > 1:
            raise AnalyticsInputError(f"{source}: column {name!r} appears more than once")
    if "date" not in lowered:
        raise AnalyticsInputError(
            f"{source} has no 'date' column (columns found: {', '.join(header) or 'none'})"
        )
    date_position = lowered.index("date")
    others = [position for position in range(len(header)) if position != date_position]
    if len(others) != 1:
        found = ", ".join(header[position] for position in others) or "none"
        raise AnalyticsInputError(
            f"{source} must have exactly one value column besides 'date', found "
            f"{len(others)} ({found})"
        )
    if not header[others[0]]:
        raise AnalyticsInputError(f"{source}: the value column has no name in the header")
    return date_position, others[0]


def _parse_dates(raw: list[str], lines: list[int], source: str) -> pd.DatetimeIndex:
    stripped = pd.Series(raw, dtype=object).str.strip()
    parsed = pd.to_datetime(stripped, utc=True, errors="coerce", format="ISO8601")
    missing = parsed.isna().to_numpy()
    if missing.any():
        position = int(np.argmax(missing))
        shown = raw[position].strip()
        what = "is empty" if not shown else f"{shown!r} is not an ISO 8601 date (YYYY-MM-DD)"
        raise AnalyticsInputError(f"{source} line {lines[position]}: date {what}")
    index = pd.DatetimeIndex(parsed)
    steps = np.diff(index.asi8)
    if (steps <= 0).any():
        position = int(np.argmax(steps <= 0)) + 1
        if steps[position - 1] == 0:
            raise AnalyticsInputError(
                f"{source}: date {raw[position].strip()} appears more than once "
                f"(lines {lines[position - 1]} and {lines[position]})"
            )
        raise AnalyticsInputError(
            f"{source}: dates are not in ascending order: line {lines[position]} "
            f"({raw[position].strip()}) comes after line {lines[position - 1]} "
            f"({raw[position - 1].strip()})"
        )
    return index


def _parse_values(raw: list[str], lines: list[int], column: str, source: str) -> np.ndarray:
    stripped = pd.Series(raw, dtype=object).str.strip()
    numbers: np.ndarray = pd.to_numeric(stripped, errors="coerce").to_numpy(dtype=np.float64)
    finite = np.isfinite(numbers)
    if not finite.all():
        position = int(np.argmax(~finite))
        shown = raw[position].strip()
        if not shown:
            what = "is empty"
        elif np.isnan(numbers[position]):
            what = f"{shown!r} is not a number"
        else:
            what = f"{shown!r} is not a finite number"
        raise AnalyticsInputError(f"{source} line {lines[position]}: {column} {what}")
    return numbers
