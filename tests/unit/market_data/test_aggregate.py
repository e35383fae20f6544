"""Combining short candles into contract timeframes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from market_data.domain.aggregate import Candle, aggregate, infer_granularity

T0 = datetime(2024, 1, 2, 10, 0, tzinfo=UTC)
HALF = timedelta(minutes=30)


def candle(start: datetime, o: str, h: str, low: str, c: str) -> Candle:
    return Candle(start, Decimal(o), Decimal(h), Decimal(low), Decimal(c), Decimal(1))


def test_aggregate_two_half_hours_make_one_hour() -> None:
    bars = aggregate(
        [candle(T0, "1", "3", "1", "2"), candle(T0 + HALF, "2", "4", "0.5", "3")], HALF, "1Hour"
    )
    assert bars == [Candle(T0, Decimal(1), Decimal(4), Decimal("0.5"), Decimal(3), Decimal(2))]


def test_aggregate_incomplete_bucket_is_dropped() -> None:
    bars = aggregate(
        [
            candle(T0, "1", "1", "1", "1"),
            candle(T0 + HALF, "1", "1", "1", "1"),
            candle(T0 + 2 * HALF, "1", "1", "1", "1"),
        ],
        HALF,
        "1Hour",
    )
    assert [b.ts_open for b in bars] == [T0]


def test_aggregate_granularity_that_does_not_divide_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot make"):
        aggregate([], timedelta(hours=4), "1Hour")
    with pytest.raises(ValueError, match="cannot make"):
        aggregate([], timedelta(minutes=7), "1Hour")


def test_infer_granularity_picks_the_most_common_gap() -> None:
    times = [T0, T0 + HALF, T0 + 2 * HALF, T0 + 5 * HALF]
    assert infer_granularity(times) == HALF
    assert infer_granularity([T0]) is None
