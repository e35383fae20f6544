"""Reading replay data from CSV or Parquet files.

A replay path is one file or a directory of ``*.csv`` / ``*.parquet`` files. Columns (any
case): a time column - ``ts_open``, ``timestamp``, ``datetime``, ``date`` or ``time``, or an
unnamed first (index) column - then ``open``, ``high``, ``low``, ``close``; optional
``volume`` (0 when absent), ``ts_close``, ``symbol`` and ``timeframe``. Without a ``symbol``
column the symbol is the file name up to the first ``_`` (``GOOG_1Day.csv`` -> ``GOOG``);
without a ``timeframe`` column it is the file name's suffix after ``_`` if that is a
timeframe, else the configured one, else inferred from the most common spacing of the times.
CSV values are read as text, so prices reach ``Decimal`` exactly as written.

Any bad row, duplicate or overlapping bar fails the load with the file and row named.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

import pandas as pd

from trader_common.contracts import BarClosed

from ..domain.aggregate import infer_granularity
from ..domain.normalise import MalformedPayloadError, check_symbol
from ..domain.replay import ReplayRow, bar_from_row, check_series
from ..domain.sessions import Calendar
from ..domain.timeframes import TIMEFRAMES, Timeframe, parse_timeframe, timeframe_for

SUFFIXES = (".csv", ".parquet", ".pq")
TIME_COLUMNS = ("ts_open", "timestamp", "datetime", "date", "time")
MAX_PROBLEMS = 5


class ReplayDataError(ValueError):
    """Replay data that cannot be used, with the reason and where."""


def replay_files(path: Path) -> list[Path]:
    if not path.exists():
        raise ReplayDataError(f"replay path {path} does not exist")
    if path.is_file():
        if path.suffix.lower() not in SUFFIXES:
            raise ReplayDataError(f"replay file {path} is not .csv or .parquet")
        return [path]
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)
    if not files:
        raise ReplayDataError(f"replay directory {path} has no .csv or .parquet files")
    return files


def _read(path: Path) -> pd.DataFrame:
    try:
        if path.suffix.lower() == ".csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False)
        frame = pd.read_parquet(path)
    except Exception as exc:
        raise ReplayDataError(f"cannot read {path.name}: {type(exc).__name__}: {exc}") from None
    if not isinstance(frame.index, pd.RangeIndex):
        frame = frame.reset_index()
    return frame


def _plain(value: Any) -> object | None:
    """A cell as a plain Python value (``None`` for empty / NaN / NaT)."""
    if value is None:
        return None
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.to_pydatetime()
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):  # numpy scalar
        return _plain(value.item())
    result: object = value
    return result


def _columns(frame: pd.DataFrame, path: Path) -> dict[str, str]:
    names = {str(c).strip().lower(): str(c) for c in frame.columns}
    time_column = next((names[c] for c in TIME_COLUMNS if c in names), None)
    if time_column is None:
        first = str(frame.columns[0]) if len(frame.columns) else ""
        if first.strip() == "" or first.lower().startswith(("unnamed", "index")):
            time_column = first
    missing = [c for c in ("open", "high", "low", "close") if c not in names]
    if time_column is None or missing:
        wanted = ", ".join(missing + ([] if time_column else ["a time column"]))
        raise ReplayDataError(f"{path.name}: missing column(s) {wanted}")
    found = {"ts_open": time_column}
    for column in ("open", "high", "low", "close", "volume", "ts_close", "symbol", "timeframe"):
        if column in names:
            found[column] = names[column]
    return found


def _stem_parts(path: Path) -> tuple[str, Timeframe | None]:
    head, _, tail = path.stem.partition("_")
    return head.upper(), (parse_timeframe(tail) if tail in TIMEFRAMES else None)


def _as_time(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def load_file(
    path: Path,
    *,
    timeframe: Timeframe | None = None,
    calendar: Calendar = "us-equity",
    naive_zone: tzinfo = UTC,
) -> list[BarClosed]:
    frame = _read(path)
    if frame.empty:
        raise ReplayDataError(f"{path.name} has no rows")
    columns = _columns(frame, path)
    stem_symbol, stem_timeframe = _stem_parts(path)
    records = frame.to_dict("records")
    header_offset = 2 if path.suffix.lower() == ".csv" else 1

    def cell(record: dict[Any, Any], name: str) -> object | None:
        column = columns.get(name)
        return _plain(record.get(column)) if column is not None else None

    rows_by_tf: dict[Timeframe | None, list[tuple[int, dict[Any, Any]]]] = {}
    for index, record in enumerate(records):
        raw_tf = cell(record, "timeframe")
        try:
            row_tf = parse_timeframe(str(raw_tf)) if raw_tf is not None else None
        except ValueError as exc:
            raise ReplayDataError(f"{path.name} row {index + header_offset}: {exc}") from None
        rows_by_tf.setdefault(row_tf or stem_timeframe or timeframe, []).append((index, record))

    bars: list[BarClosed] = []
    problems: list[str] = []
    for row_tf, rows in rows_by_tf.items():
        resolved = row_tf
        if resolved is None:
            times = [t for _, r in rows if (t := _as_time(cell(r, "ts_open"))) is not None]
            gap = infer_granularity(times)
            resolved = timeframe_for(gap) if gap is not None else None
            if resolved is None:
                raise ReplayDataError(
                    f"{path.name}: cannot tell the timeframe (spacing {gap}); add a timeframe "
                    f"column, name the file SYMBOL_<timeframe>, or set MARKET_DATA_REPLAY_TIMEFRAME"
                )
        for index, record in rows:
            row = ReplayRow(
                where=f"{path.name} row {index + header_offset}",
                symbol=str(cell(record, "symbol") or stem_symbol).strip().upper(),
                ts_open=cell(record, "ts_open"),
                ts_close=cell(record, "ts_close"),
                open=cell(record, "open"),
                high=cell(record, "high"),
                low=cell(record, "low"),
                close=cell(record, "close"),
                volume=cell(record, "volume"),
            )
            try:
                bars.append(
                    bar_from_row(row, timeframe=resolved, calendar=calendar, naive_zone=naive_zone)
                )
            except MalformedPayloadError as exc:
                problems.append(str(exc))
    if problems:
        more = f" (and {len(problems) - MAX_PROBLEMS} more)" if len(problems) > MAX_PROBLEMS else ""
        raise ReplayDataError("; ".join(problems[:MAX_PROBLEMS]) + more)
    series: dict[tuple[str, str], list[BarClosed]] = {}
    for bar in sorted(bars, key=lambda b: b.ts_open):
        series.setdefault((bar.symbol, bar.timeframe), []).append(bar)
    try:
        for items in series.values():
            check_series(items, path.name)
    except MalformedPayloadError as exc:
        raise ReplayDataError(str(exc)) from None
    return bars


def load_bars(
    path: Path,
    *,
    symbols: Sequence[str] | None = None,
    timeframe: Timeframe | None = None,
    calendar: Calendar = "us-equity",
    naive_zone: tzinfo = UTC,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[BarClosed]:
    """Every bar under ``path`` (optionally only ``symbols`` and bars opening in [start, end)),
    oldest first; ``ReplayDataError`` naming the problem otherwise."""
    bars: list[BarClosed] = []
    seen: dict[tuple[str, str], str] = {}
    for file in replay_files(path):
        loaded = load_file(file, timeframe=timeframe, calendar=calendar, naive_zone=naive_zone)
        for key in {(b.symbol, b.timeframe) for b in loaded}:
            if key in seen:
                raise ReplayDataError(
                    f"{key[0]} {key[1]} bars are in both {seen[key]} and {file.name}"
                )
            seen[key] = file.name
        bars.extend(loaded)
    available = sorted({b.symbol for b in bars})
    if symbols:
        for symbol in symbols:
            try:
                check_symbol(symbol)
            except MalformedPayloadError as exc:
                raise ReplayDataError(str(exc)) from None
        missing = [s for s in symbols if s not in available]
        if missing:
            raise ReplayDataError(
                f"symbols {', '.join(missing)} are not in the replay data at {path} "
                f"(it has {', '.join(available)})"
            )
        wanted = set(symbols)
        bars = [b for b in bars if b.symbol in wanted]
    bars = [
        b
        for b in bars
        if (start is None or b.ts_open >= start) and (end is None or b.ts_open < end)
    ]
    if not bars:
        raise ReplayDataError(f"no replay bars at {path} between {start} and {end}")
    return sorted(bars, key=lambda b: (b.ts_event, b.symbol))
