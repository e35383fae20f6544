"""Combining short candles into a longer contract timeframe (used where a provider's native
granularity is not one of the contract's timeframes, e.g. CoinGecko's 30-minute OHLC)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from .timeframes import DURATIONS, Timeframe, floor_time


@dataclass(frozen=True, slots=True)
class Candle:
    ts_open: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


def aggregate(
    candles: Sequence[Candle], granularity: timedelta, timeframe: Timeframe
) -> list[Candle]:
    """``granularity``-long candles combined into ``timeframe`` buckets aligned to UTC.

    Only complete buckets (every constituent candle present) are returned, so a partial hour or
    day never passes for a closed bar. ``ValueError`` when the granularity does not divide the
    timeframe.
    """
    step = DURATIONS[timeframe]
    if granularity <= timedelta(0) or granularity > step or step % granularity:
        raise ValueError(f"{granularity} candles cannot make {timeframe} bars")
    needed = step // granularity
    buckets: dict[datetime, dict[datetime, Candle]] = {}
    for candle in candles:
        bucket = floor_time(candle.ts_open, step)
        buckets.setdefault(bucket, {})[candle.ts_open] = candle
    result = []
    for bucket in sorted(buckets):
        parts = [buckets[bucket][ts] for ts in sorted(buckets[bucket])]
        if len(parts) != needed:
            continue
        result.append(
            Candle(
                ts_open=bucket,
                open=parts[0].open,
                high=max(p.high for p in parts),
                low=min(p.low for p in parts),
                close=parts[-1].close,
                volume=sum((p.volume for p in parts), Decimal(0)),
            )
        )
    return result


def infer_granularity(timestamps: Sequence[datetime]) -> timedelta | None:
    """The most common spacing between consecutive timestamps (``None`` for fewer than two)."""
    ordered = sorted(set(timestamps))
    if len(ordered) < 2:
        return None
    gaps: dict[timedelta, int] = {}
    for earlier, later in itertools.pairwise(ordered):
        gap = later - earlier
        gaps[gap] = gaps.get(gap, 0) + 1
    return max(gaps.items(), key=lambda item: (item[1], -item[0].total_seconds()))[0]
