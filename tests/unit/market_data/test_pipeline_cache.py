"""Pipeline (order, de-duplicate, bulk publish) and the TTL cache."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from market_data.service.cache import MarketCache, bar_key, quote_key
from market_data.service.pipeline import MarketPipeline
from trader_common.adapters.inprocess import InMemoryEventBus, InMemoryStateStore
from trader_common.contracts import BarClosed, QuoteUpdated
from trader_common.ports import PlatformUnavailableError, StateItem

T0 = datetime(2024, 1, 2, 15, 0, tzinfo=UTC)


def quote(symbol: str, second: int, bid: str = "1.00") -> QuoteUpdated:
    return QuoteUpdated(
        symbol=symbol,
        source="t",
        ts_event=T0 + timedelta(seconds=second),
        bid=Decimal(bid),
        ask=Decimal(bid) + Decimal("0.01"),
        bid_size=Decimal(1),
        ask_size=Decimal(1),
    )


def bar(symbol: str, minute: int) -> BarClosed:
    opens = T0 + timedelta(minutes=minute)
    return BarClosed(
        symbol=symbol,
        source="t",
        timeframe="1Min",
        ts_open=opens,
        ts_event=opens + timedelta(minutes=1),
        open=Decimal(1),
        high=Decimal(1),
        low=Decimal(1),
        close=Decimal(1),
        volume=Decimal(1),
    )


class FlakyBus(InMemoryEventBus):
    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.bulk_calls = 0

    async def publish_many(self, events):  # type: ignore[no-untyped-def]
        self.bulk_calls += 1
        if self.failures:
            self.failures -= 1
            raise PlatformUnavailableError("broker down")
        await super().publish_many(events)


async def test_pipeline_publishes_one_bulk_call_in_time_order_per_symbol() -> None:
    bus = FlakyBus(0)
    pipeline = MarketPipeline(bus, MarketCache(InMemoryStateStore()))
    await pipeline.process([quote("AAPL", 2), quote("MSFT", 1), quote("AAPL", 1)])
    assert bus.bulk_calls == 1
    assert [(e.symbol, e.ts_event.second) for e in bus.published if e.symbol == "AAPL"] == [
        ("AAPL", 1),
        ("AAPL", 2),
    ]


async def test_pipeline_drops_duplicates_and_counts_them() -> None:
    bus = FlakyBus(0)
    pipeline = MarketPipeline(bus)
    await pipeline.process([quote("AAPL", 1)])
    assert await pipeline.process([quote("AAPL", 1), quote("AAPL", 0, bid="2")]) == 0
    assert bus.bulk_calls == 1
    assert (pipeline.stats.duplicates, pipeline.stats.out_of_order) == (1, 1)


async def test_pipeline_failed_publish_can_be_retried_without_loss() -> None:
    bus = FlakyBus(1)
    pipeline = MarketPipeline(bus)
    with pytest.raises(PlatformUnavailableError):
        await pipeline.process([quote("AAPL", 1)])
    assert await pipeline.process([quote("AAPL", 1)]) == 1
    assert len(bus.published) == 1


async def test_cache_keeps_latest_quote_and_bar_per_symbol_with_ttl() -> None:
    saved: list[tuple[str, int | None]] = []
    store = InMemoryStateStore()
    original = store.save

    async def spy(key, value, *, etag=None, ttl_seconds=None):  # type: ignore[no-untyped-def]
        saved.append((key, ttl_seconds))
        await original(key, value, etag=etag, ttl_seconds=ttl_seconds)

    store.save = spy  # type: ignore[method-assign]
    cache = MarketCache(store)
    await cache.remember(
        [quote("AAPL", 1), quote("AAPL", 3, bid="5"), quote("AAPL", 2), bar("AAPL", 0)]
    )
    assert sorted(saved) == [(bar_key("AAPL", "1Min"), 30), (quote_key("AAPL"), 30)]
    cached = await cache.quote("AAPL")
    assert cached is not None
    assert cached.bid == Decimal(5)
    cached_bar = await cache.bar("AAPL", "1Min")
    assert cached_bar is not None
    assert cached_bar.model_dump(exclude={"event_id", "ts_recorded"}) == bar("AAPL", 0).model_dump(
        exclude={"event_id", "ts_recorded"}
    )


async def test_cache_entries_expire_after_the_ttl() -> None:
    now = [0.0]
    cache = MarketCache(InMemoryStateStore(clock=lambda: now[0]), ttl_seconds=30)
    await cache.remember([quote("AAPL", 1)])
    now[0] = 29.9
    assert await cache.quote("AAPL") is not None
    now[0] = 30.0
    assert await cache.quote("AAPL") is None


async def test_cache_symbols_with_slash_get_a_single_segment_key() -> None:
    assert quote_key("BTC/USD") == "quote:BTC_USD"
    assert bar_key("BTC/USD", "1Hour") == "bar:1Hour:BTC_USD"


async def test_cache_unreadable_entry_is_a_miss() -> None:
    store = InMemoryStateStore()
    await store.save(quote_key("AAPL"), {"bid": "oops"})
    assert await MarketCache(store).quote("AAPL") is None


async def test_cache_unavailable_store_is_a_miss_and_writes_are_counted_not_raised() -> None:
    class DownStore:
        async def get(self, key: str) -> StateItem | None:
            raise PlatformUnavailableError("state store down")

        async def save(self, key, value, *, etag=None, ttl_seconds=None):  # type: ignore[no-untyped-def]
            raise PlatformUnavailableError("state store down")

        async def delete(self, key: str, *, etag: str | None = None) -> None:
            raise PlatformUnavailableError("state store down")

    cache = MarketCache(DownStore())
    await cache.remember([quote("AAPL", 1)])
    assert cache.write_failures == 1
    assert await cache.quote("AAPL") is None
