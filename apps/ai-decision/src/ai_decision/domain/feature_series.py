"""The stored history of one symbol: bars with the features as of each bar, and recent quotes and
trades — with point-in-time reads. Pure: the service layer loads and saves it as JSON.

Point in time: a read "as of t" returns only what had happened by t — the last bar whose close
is at or before t (and the features computed from bars up to that one), the last quote and trade
at or before t. A bar that arrives late (out of order) is slotted in by its close time and the
features from that bar on are recomputed, each still from its own past only.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from .features import (
    LOOKBACK_BARS,
    BarFeatures,
    BarPoint,
    QuotePoint,
    TradePoint,
    compute_bar_features,
)

DEFAULT_MAX_BARS = 300
DEFAULT_MAX_TICKS = 50


def to_micros(ts: datetime) -> int:
    delta = ts.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(micros: int) -> datetime:
    return datetime.fromtimestamp(micros // 1_000_000, UTC).replace(microsecond=micros % 1_000_000)


def _bar_row(bar: BarPoint) -> list[Any]:
    return [
        to_micros(bar.ts_close),
        to_micros(bar.ts_open),
        str(bar.open),
        str(bar.high),
        str(bar.low),
        str(bar.close),
        str(bar.volume),
    ]


def _row_bar(row: Sequence[Any]) -> BarPoint:
    return BarPoint(
        ts_close=from_micros(int(row[0])),
        ts_open=from_micros(int(row[1])),
        open=Decimal(str(row[2])),
        high=Decimal(str(row[3])),
        low=Decimal(str(row[4])),
        close=Decimal(str(row[5])),
        volume=Decimal(str(row[6])),
    )


@dataclass
class BarSeries:
    """Bars of one symbol and timeframe, oldest first, with the features as of each."""

    rows: list[list[Any]] = field(default_factory=list)
    snapshots: list[dict[str, Any]] = field(default_factory=list)
    max_bars: int = DEFAULT_MAX_BARS

    @classmethod
    def from_json(cls, data: Any, max_bars: int = DEFAULT_MAX_BARS) -> BarSeries:
        if not isinstance(data, dict):
            return cls(max_bars=max_bars)
        rows = [list(r) for r in data.get("bars", [])]
        snapshots = [dict(s) for s in data.get("snapshots", [])]
        if len(rows) != len(snapshots):  # damaged record: recompute rather than trust it
            series = cls(rows=rows, snapshots=[], max_bars=max_bars)
            series._recompute_from(0)
            return series
        return cls(rows=rows, snapshots=snapshots, max_bars=max_bars)

    def to_json(self) -> dict[str, Any]:
        return {"bars": self.rows, "snapshots": self.snapshots}

    def __len__(self) -> int:
        return len(self.rows)

    def _keys(self) -> list[int]:
        return [int(r[0]) for r in self.rows]

    def insert(self, bar: BarPoint) -> bool:
        """Add ``bar`` (or correct the bar with the same close time); False when nothing changed
        (a redelivery) or the bar is older than everything kept in a full series."""
        row = _bar_row(bar)
        keys = self._keys()
        index = bisect.bisect_left(keys, row[0])
        if index < len(keys) and keys[index] == row[0]:
            if self.rows[index] == row:
                return False
            self.rows[index] = row
        else:
            if index == 0 and len(self.rows) >= self.max_bars:
                return False
            self.rows.insert(index, row)
            self.snapshots.insert(index, {})
        self._recompute_from(index)
        overflow = len(self.rows) - self.max_bars
        if overflow > 0:
            del self.rows[:overflow]
            del self.snapshots[:overflow]
        return True

    def _recompute_from(self, index: int) -> None:
        start = max(0, index - LOOKBACK_BARS + 1)
        bars = [_row_bar(r) for r in self.rows[start:]]
        while len(self.snapshots) < len(self.rows):
            self.snapshots.append({})
        for j in range(index, len(self.rows)):
            self.snapshots[j] = compute_bar_features(bars[: j - start + 1]).to_json()

    def _last_index_at(self, as_of: datetime) -> int:
        """Index of the last bar closed at or before ``as_of``, or -1."""
        return bisect.bisect_right(self._keys(), to_micros(as_of)) - 1

    def features_at(self, as_of: datetime) -> BarFeatures | None:
        index = self._last_index_at(as_of)
        return None if index < 0 else BarFeatures.from_json(self.snapshots[index])

    def bars_at(self, as_of: datetime, count: int) -> list[BarPoint]:
        """The last ``count`` bars closed at or before ``as_of``, oldest first."""
        end = self._last_index_at(as_of) + 1
        return [_row_bar(r) for r in self.rows[max(0, end - count) : end]]


@dataclass
class TickSeries:
    """Recent quotes (``kind='quote'``) or trades (``kind='trade'``) of one symbol."""

    kind: str
    rows: list[list[Any]] = field(default_factory=list)
    max_rows: int = DEFAULT_MAX_TICKS

    @classmethod
    def from_json(cls, kind: str, data: Any, max_rows: int = DEFAULT_MAX_TICKS) -> TickSeries:
        rows = [list(r) for r in data] if isinstance(data, list) else []
        return cls(kind=kind, rows=rows, max_rows=max_rows)

    def to_json(self) -> list[list[Any]]:
        return self.rows

    def insert(self, ts: datetime, a: Decimal, b: Decimal) -> bool:
        row: list[Any] = [to_micros(ts), str(a), str(b)]
        keys = [int(r[0]) for r in self.rows]
        index = bisect.bisect_right(keys, row[0])
        if index > 0 and self.rows[index - 1] == row:
            return False
        if index == 0 and len(self.rows) >= self.max_rows:
            return False
        self.rows.insert(index, row)
        if len(self.rows) > self.max_rows:
            del self.rows[: len(self.rows) - self.max_rows]
        return True

    def _last_at(self, as_of: datetime) -> list[Any] | None:
        keys = [int(r[0]) for r in self.rows]
        index = bisect.bisect_right(keys, to_micros(as_of)) - 1
        return None if index < 0 else self.rows[index]

    def quote_at(self, as_of: datetime) -> QuotePoint | None:
        row = self._last_at(as_of)
        if row is None:
            return None
        return QuotePoint(ts=from_micros(int(row[0])), bid=Decimal(row[1]), ask=Decimal(row[2]))

    def trade_at(self, as_of: datetime) -> TradePoint | None:
        row = self._last_at(as_of)
        if row is None:
            return None
        return TradePoint(ts=from_micros(int(row[0])), price=Decimal(row[1]), size=Decimal(row[2]))


def feature_snapshot_is_consistent(series: BarSeries) -> bool:
    """True when every stored snapshot equals the features recomputed from its own past."""
    bars = [_row_bar(r) for r in series.rows]
    return all(
        BarFeatures.from_json(series.snapshots[j]) == compute_bar_features(bars[: j + 1])
        for j in range(len(bars))
    )
