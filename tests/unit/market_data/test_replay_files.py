"""Replay files: CSV and Parquet, the shipped data, and clear errors for bad files."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from market_data.adapters.replay_files import ReplayDataError, load_bars
from market_data.settings import SHIPPED_DATA


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_shipped_data_loads_real_goog_and_eurusd_bars() -> None:
    bars = load_bars(SHIPPED_DATA)
    goog = [b for b in bars if b.symbol == "GOOG"]
    fx = [b for b in bars if b.symbol == "EUR/USD"]
    assert len(goog) == 2148
    assert len(fx) == 5000
    first = goog[0]
    assert first.timeframe == "1Day"
    assert first.ts_open == datetime(2004, 8, 19, 13, 30, tzinfo=UTC)
    assert (first.open, first.high, first.low, first.close) == (
        Decimal("100"),
        Decimal("104.06"),
        Decimal("95.96"),
        Decimal("100.34"),
    )
    assert first.volume == Decimal(22351900)
    assert {b.timeframe for b in fx} == {"1Hour"}
    assert sum(p.stat().st_size for p in SHIPPED_DATA.glob("*.csv")) < 1_000_000


def test_shipped_data_has_provenance_readme() -> None:
    text = (SHIPPED_DATA / "README.md").read_text()
    assert "backtesting.py" in text
    assert "AGPL" in text


def test_csv_date_only_daily_file_named_symbol_timeframe(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "ibm_1Day.csv",
        "Date,Open,High,Low,Close,Volume\n2024-01-02,10,11,9,10.5,100\n2024-07-01,10,11,9,10,5\n",
    )
    bars = load_bars(path)
    assert [b.symbol for b in bars] == ["IBM", "IBM"]
    assert bars[0].ts_open == datetime(2024, 1, 2, 14, 30, tzinfo=UTC)
    assert bars[1].ts_open == datetime(2024, 7, 1, 13, 30, tzinfo=UTC)


def test_csv_timeframe_inferred_from_spacing(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "x.csv",
        "timestamp,open,high,low,close\n"
        "2024-01-02T10:00:00Z,1,2,1,2\n2024-01-02T10:05:00Z,2,3,2,3\n2024-01-02T10:10:00Z,3,3,3,3\n",
    )
    bars = load_bars(path)
    assert {b.timeframe for b in bars} == {"5Min"}
    assert bars[0].volume == 0


def test_parquet_file_with_timestamps_and_symbol_column(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "symbol": ["BTC/USD", "BTC/USD"],
            "ts_open": pd.to_datetime(["2024-01-02T10:00:00Z", "2024-01-02T11:00:00Z"]),
            "open": [42000.5, 42100.25],
            "high": [42200.0, 42300.0],
            "low": [41900.0, 42000.0],
            "close": [42100.25, 42250.75],
            "volume": [12.5, 8.0],
        }
    )
    path = tmp_path / "crypto.parquet"
    frame.to_parquet(path)
    bars = load_bars(path)
    assert [b.symbol for b in bars] == ["BTC/USD", "BTC/USD"]
    assert bars[0].timeframe == "1Hour"
    assert bars[1].close == Decimal("42250.75")
    assert bars[0].ts_open == datetime(2024, 1, 2, 10, tzinfo=UTC)


def test_csv_bad_row_fails_the_load_naming_file_and_row(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "bad_1Day.csv",
        "date,open,high,low,close\n2024-01-02,10,11,9,10\n2024-01-03,10,oops,9,10\n",
    )
    with pytest.raises(ReplayDataError, match=r"bad_1Day\.csv row 3: high"):
        load_bars(path)


def test_csv_missing_columns_are_named(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "x_1Day.csv", "date,open,close\n2024-01-02,1,1\n")
    with pytest.raises(ReplayDataError, match=r"missing column.*high.*low"):
        load_bars(path)


def test_csv_duplicate_bar_is_refused(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "x_1Day.csv",
        "date,open,high,low,close\n2024-01-02,1,1,1,1\n2024-01-02,1,1,1,1\n",
    )
    with pytest.raises(ReplayDataError, match="two 1Day bars"):
        load_bars(path)


def test_unknown_symbols_requested_are_named_with_what_is_there() -> None:
    with pytest.raises(ReplayDataError, match=r"AAPL are not in the replay data .*GOOG"):
        load_bars(SHIPPED_DATA, symbols=["AAPL"])


def test_symbol_filter_and_date_window(tmp_path: Path) -> None:
    bars = load_bars(
        SHIPPED_DATA,
        symbols=["GOOG"],
        start=datetime(2010, 1, 1, tzinfo=UTC),
        end=datetime(2010, 2, 1, tzinfo=UTC),
    )
    assert {b.symbol for b in bars} == {"GOOG"}
    assert len(bars) == 19  # trading days in January 2010


@pytest.mark.parametrize(
    ("name", "problem"),
    [("missing", "does not exist"), ("empty_dir", "no .csv or .parquet"), ("x.txt", "not .csv")],
)
def test_bad_replay_paths_are_named(tmp_path: Path, name: str, problem: str) -> None:
    (tmp_path / "empty_dir").mkdir()
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(ReplayDataError, match=problem):
        load_bars(tmp_path / name)


def test_unreadable_parquet_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(ReplayDataError, match=r"cannot read broken\.parquet"):
        load_bars(path)
