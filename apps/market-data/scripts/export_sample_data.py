"""Export the real market data that ships with backtesting.py to the replay CSV format.

Run from the repository root (no network needed; the data is inside the installed package):

    .venv/bin/python apps/market-data/scripts/export_sample_data.py

It writes ``apps/market-data/src/market_data/data/``:

* ``GOOG_1Day.csv`` - NASDAQ:GOOG daily bars, 2004-08-19 to 2013-03-01. Each bar spans the
  regular US session of its date, 09:30-16:00 America/New_York, converted to UTC through the
  IANA zone database (so 13:30-20:00 UTC in summer, 14:30-21:00 UTC in winter).
* ``EURUSD_1Hour.csv`` - EUR/USD hourly bars, 2017-04-19 to 2018-02-07. The source gives naive
  times and does not say their zone; they are taken as UTC bar-open times. Volume is the
  source's (tick) volume.

backtesting.py also ships ``BTCUSD.csv``, but as *monthly* bars, which the BarClosed contract
cannot carry (its longest timeframe is 1Day), so it is not exported.

Prices and volumes are copied as the text the source has, so replay reads them into Decimal
exactly. Columns: symbol, ts_open, ts_close, open, high, low, close, volume.
"""

from __future__ import annotations

import csv
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import backtesting.test

SOURCE = Path(backtesting.test.__file__).parent
TARGET = Path(__file__).resolve().parents[1] / "src" / "market_data" / "data"
NEW_YORK = ZoneInfo("America/New_York")
COLUMNS = ["symbol", "ts_open", "ts_close", "open", "high", "low", "close", "volume"]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _session(day: date) -> tuple[datetime, datetime]:
    opens = datetime.combine(day, time(9, 30), tzinfo=NEW_YORK)
    closes = datetime.combine(day, time(16, 0), tzinfo=NEW_YORK)
    return opens, closes


def _source_rows(name: str) -> list[dict[str, str]]:
    with (SOURCE / name).open(newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    if not rows:
        raise SystemExit(f"{name} in backtesting.test is empty")
    return rows


def export_goog() -> Path:
    out = TARGET / "GOOG_1Day.csv"
    with out.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in _source_rows("GOOG.csv"):
            day = date.fromisoformat(row[""][:10])
            opens, closes = _session(day)
            writer.writerow(
                [
                    "GOOG",
                    _iso(opens),
                    _iso(closes),
                    row["Open"],
                    row["High"],
                    row["Low"],
                    row["Close"],
                    row["Volume"],
                ]
            )
    return out


def export_eurusd() -> Path:
    out = TARGET / "EURUSD_1Hour.csv"
    with out.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in _source_rows("EURUSD.csv"):
            opens = datetime.fromisoformat(row[""]).replace(tzinfo=UTC)
            writer.writerow(
                [
                    "EUR/USD",
                    _iso(opens),
                    _iso(opens + timedelta(hours=1)),
                    row["Open"],
                    row["High"],
                    row["Low"],
                    row["Close"],
                    row["Volume"],
                ]
            )
    return out


def main() -> int:
    TARGET.mkdir(parents=True, exist_ok=True)
    for path in (export_goog(), export_eurusd()):
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
