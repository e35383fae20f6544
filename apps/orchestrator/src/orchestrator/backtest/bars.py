"""Daily bars and the CSV reader. Bad files give a ``BarFileError`` naming the file, the line
and what is wrong; never a traceback."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

REQUIRED = ("open", "high", "low", "close", "volume")
_ZERO = Decimal(0)
_SYMBOL = re.compile(r"^[A-Z0-9./:-]{1,32}$")


class BarFileError(ValueError):
    """A bar file or directory cannot be used; the message says which and why."""


@dataclass(frozen=True, slots=True)
class DailyBar:
    day: date
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


@dataclass(frozen=True, slots=True)
class BarSeries:
    """One symbol's daily bars, strictly increasing in date."""

    symbol: str
    bars: tuple[DailyBar, ...]
    source: str = ""


def _number(text: str, column: str, where: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise BarFileError(f"{where}: column {column!r} is not a number: {text!r}") from None
    if not value.is_finite():
        raise BarFileError(f"{where}: column {column!r} is not a finite number: {text!r}")
    return value


def _day(text: str, column: str, where: str) -> date:
    raw = text.strip()
    try:
        if len(raw) == 10:
            return date.fromisoformat(raw)
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).date()
    except ValueError:
        raise BarFileError(
            f"{where}: column {column!r} is not a date (YYYY-MM-DD): {text!r}"
        ) from None


def check_symbol(symbol: str, where: str) -> str:
    if not _SYMBOL.match(symbol):
        raise BarFileError(
            f"{where}: symbol {symbol!r} must be 1-32 of A-Z, 0-9, '.', '/', ':' or '-' "
            "(use --symbol to name it)"
        )
    return symbol


def symbol_from_path(path: Path) -> str:
    """``GOOG_1Day.csv`` -> ``GOOG``; ``spy.csv`` -> ``SPY``."""
    return path.stem.split("_")[0].upper()


def parse_bars(rows: Iterable[Sequence[str]], *, source: str) -> tuple[list[DailyBar], str | None]:
    """Bars from CSV rows (the first row is the header). Returns the bars and the value of a
    ``symbol`` column if the file has one."""
    it = iter(rows)
    header = next(it, None)
    if header is None:
        raise BarFileError(
            f"{source}: the file is empty (expected a header: date,{','.join(REQUIRED)})"
        )
    names = [h.strip().lower() for h in header]
    date_column = next((c for c in ("date", "ts_open", "timestamp", "time") if c in names), None)
    missing = [c for c in REQUIRED if c not in names]
    if date_column is None:
        missing.insert(0, "date")
    if missing or date_column is None:
        raise BarFileError(
            f"{source}: missing column(s) {', '.join(missing)}; the header has {', '.join(names)}"
        )
    idx = {c: names.index(c) for c in (date_column, *REQUIRED)}
    i_date = idx[date_column]
    i_o, i_h, i_l, i_c, i_v = (idx[c] for c in REQUIRED)
    i_sym = names.index("symbol") if "symbol" in names else None
    width = len(names)
    bars: list[DailyBar] = []
    symbol: str | None = None
    previous: date | None = None
    for line, row in enumerate(it, start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        where = f"{source}, line {line}"
        if len(row) < width:
            raise BarFileError(f"{where}: expected {width} columns, found {len(row)}")
        day = _day(row[i_date], date_column, where)
        o = _number(row[i_o], "open", where)
        h = _number(row[i_h], "high", where)
        lo = _number(row[i_l], "low", where)
        c = _number(row[i_c], "close", where)
        v = _number(row[i_v], "volume", where)
        if min(o, h, lo, c) <= _ZERO:
            raise BarFileError(
                f"{where}: prices must be positive (open {o}, high {h}, low {lo}, close {c})"
            )
        if v < _ZERO:
            raise BarFileError(f"{where}: volume must not be negative, got {v}")
        if h < lo:
            raise BarFileError(f"{where}: high {h} is below low {lo}")
        if not (lo <= o <= h and lo <= c <= h):
            raise BarFileError(
                f"{where}: open {o} and close {c} must lie between low {lo} and high {h}"
            )
        if previous is not None:
            if day == previous:
                raise BarFileError(f"{where}: duplicate date {day}")
            if day < previous:
                raise BarFileError(
                    f"{where}: date {day} comes after {previous}; sort the file by date"
                )
        if i_sym is not None:
            value = row[i_sym].strip().upper()
            if symbol is None:
                symbol = value
            elif value != symbol:
                raise BarFileError(
                    f"{where}: a file holds one symbol; found {value!r} after {symbol!r}"
                )
        previous = day
        bars.append(DailyBar(day, o, h, lo, c, v))
    if not bars:
        raise BarFileError(f"{source}: no bars after the header")
    return bars, symbol


def read_bars_csv(path: Path, symbol: str | None = None) -> BarSeries:
    """One symbol's bars. The symbol is ``symbol`` if given, else the file's ``symbol``
    column, else the file name before the first ``_``."""
    source = str(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            bars, in_file = parse_bars(csv.reader(handle), source=source)
    except FileNotFoundError:
        raise BarFileError(f"{source}: no such file") from None
    except IsADirectoryError:
        raise BarFileError(f"{source}: is a directory, not a CSV file") from None
    except UnicodeDecodeError:
        raise BarFileError(f"{source}: not a UTF-8 text file") from None
    except csv.Error as exc:
        raise BarFileError(f"{source}: not a readable CSV file ({exc})") from None
    name = symbol or in_file or symbol_from_path(path)
    return BarSeries(check_symbol(name.upper(), source), tuple(bars), source)


def load_series(paths: Sequence[Path], symbol: str | None = None) -> list[BarSeries]:
    """Bars from files and directories (every ``*.csv`` in a directory, one symbol each).
    ``symbol`` names the symbol of a single file."""
    if not paths:
        raise BarFileError("no bar files given")
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() == ".csv")
            if not found:
                raise BarFileError(f"{path}: the directory holds no .csv files")
            files.extend(found)
        else:
            files.append(path)
    if symbol is not None and len(files) != 1:
        raise BarFileError(f"--symbol names the symbol of a single file; got {len(files)} files")
    series = [read_bars_csv(f, symbol) for f in files]
    seen: dict[str, str] = {}
    for s in series:
        if s.symbol in seen:
            raise BarFileError(
                f"symbol {s.symbol} comes from two files: {seen[s.symbol]} and {s.source}"
            )
        seen[s.symbol] = s.source
    return series
