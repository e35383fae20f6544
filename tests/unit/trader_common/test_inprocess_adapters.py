from __future__ import annotations

from datetime import UTC, datetime

import pytest

from trader_common.adapters.inprocess import InMemoryEventBus, InMemoryStateStore
from trader_common.contracts import Event, QuoteUpdated
from trader_common.ports import ConcurrencyConflictError


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_in_memory_state_stale_etag_write_is_refused() -> None:
    store = InMemoryStateStore()
    await store.save("k", 1)
    first = await store.get("k")
    assert first is not None
    await store.save("k", 2, etag=first.etag)
    with pytest.raises(ConcurrencyConflictError):
        await store.save("k", 3, etag=first.etag)
    current = await store.get("k")
    assert current is not None and current.value == 2


async def test_in_memory_state_item_past_ttl_disappears() -> None:
    clock = Clock()
    store = InMemoryStateStore(clock)
    await store.save("quote", {"bid": "1"}, ttl_seconds=30)
    clock.now = 29.9
    assert await store.get("quote") is not None
    clock.now = 30.0
    assert await store.get("quote") is None


async def test_in_memory_bus_delivers_in_order_to_topic_subscribers() -> None:
    bus = InMemoryEventBus()
    seen: list[Event] = []

    async def handler(event: Event) -> None:
        seen.append(event)

    bus.subscribe("market.events", handler)
    now = datetime.now(UTC)
    quotes = [
        QuoteUpdated(symbol="A", source="t", ts_event=now, bid=1, ask=2, bid_size=1, ask_size=1)
        for _ in range(3)
    ]
    await bus.publish_many(quotes)
    assert seen == quotes
