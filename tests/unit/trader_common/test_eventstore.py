from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from trader_common.adapters.inprocess import InMemoryStateStore
from trader_common.contracts import QuoteUpdated
from trader_common.eventstore import EventStore, OutboxRelay, Snapshot
from trader_common.ports import ConcurrencyConflictError

NOW = datetime(2026, 11, 24, 15, tzinfo=UTC)


def quote(n: int, symbol: str = "AAPL") -> QuoteUpdated:
    return QuoteUpdated(
        symbol=symbol,
        source="t",
        ts_event=NOW,
        bid=Decimal(n),
        ask=Decimal(n + 1),
        bid_size=1,
        ask_size=1,
    )


class RecordingPublisher:
    def __init__(self, fail_after: int | None = None) -> None:
        self.sent: list[tuple[str, dict[str, Any], str | None]] = []
        self.fail_after = fail_after

    async def publish_raw(
        self, topic: str, body: Any, partition_key: str | None = None, *, raw: bool = False
    ) -> None:
        if self.fail_after is not None and len(self.sent) >= self.fail_after:
            raise ConnectionError("broker went away")
        self.sent.append((topic, body, partition_key))


async def test_event_store_append_then_load_returns_events_in_order() -> None:
    store = EventStore(InMemoryStateStore(), "/test")
    events = [quote(i) for i in range(1, 4)]
    assert await store.append("s", 0, events) == 3
    loaded = await store.load("s")
    assert [e.version for e in loaded] == [1, 2, 3]
    assert [e.event() for e in loaded] == events
    assert loaded[0].topic == "market.events"
    assert loaded[0].partition_key == "AAPL"


async def test_event_store_stale_expected_version_is_refused_and_writes_nothing() -> None:
    store = EventStore(InMemoryStateStore(), "/test")
    await store.append("s", 0, [quote(1)])
    with pytest.raises(ConcurrencyConflictError, match="at version 1, not 0"):
        await store.append("s", 0, [quote(2)])
    assert await store.version("s") == 1
    assert len(await store.load("s")) == 1


async def test_event_store_load_after_version_returns_only_the_tail() -> None:
    store = EventStore(InMemoryStateStore(), "/test")
    await store.append("s", 0, [quote(i) for i in range(1, 6)])
    tail = await store.load("s", after_version=3)
    assert [e.version for e in tail] == [4, 5]


async def test_event_store_appends_across_segment_boundaries_keep_order() -> None:
    store = EventStore(InMemoryStateStore(), "/test", segment_size=3)
    events = [quote(i) for i in range(1, 11)]
    version = 0
    for chunk in (events[:2], events[2:3], events[3:7], events[7:]):
        version = await store.append("s", version, chunk)
    loaded = await store.load("s")
    assert [e.event() for e in loaded] == events
    assert [e.version for e in await store.load("s", after_version=8)] == [9, 10]
    assert [e.version for e in await store.load("s", after_version=2, up_to=4)] == [3, 4]


async def test_event_store_snapshot_round_trip() -> None:
    store = EventStore(InMemoryStateStore(), "/test")
    assert await store.load_snapshot("s") is None
    await store.save_snapshot("s", Snapshot(7, {"cash": "100.00"}))
    assert await store.load_snapshot("s") == Snapshot(7, {"cash": "100.00"})


async def test_event_store_invalid_stream_name_is_refused() -> None:
    store = EventStore(InMemoryStateStore(), "/test")
    with pytest.raises(ValueError, match="invalid stream name"):
        await store.append("a|b", 0, [quote(1)])


async def test_outbox_relay_publishes_each_event_once_in_order_with_partition_key() -> None:
    store = EventStore(InMemoryStateStore(), "/test")
    await store.append("s", 0, [quote(1, "AAPL"), quote(2, "MSFT")])
    publisher = RecordingPublisher()
    relay = OutboxRelay(store, "s", publisher)
    assert await relay.drain() == 2
    assert await relay.drain() == 0
    assert [(t, k) for t, _, k in publisher.sent] == [
        ("market.events", "AAPL"),
        ("market.events", "MSFT"),
    ]


async def test_outbox_relay_broker_failure_mid_drain_loses_nothing() -> None:
    store = EventStore(InMemoryStateStore(), "/test")
    events = [quote(i) for i in range(1, 5)]
    await store.append("s", 0, events)
    flaky = RecordingPublisher(fail_after=2)
    with pytest.raises(ConnectionError):
        await OutboxRelay(store, "s", flaky).drain()
    healthy = RecordingPublisher()
    assert await OutboxRelay(store, "s", healthy).drain() == 2
    sent = [body["id"] for _, body, _ in flaky.sent + healthy.sent]
    assert sent == [str(e.event_id) for e in events]  # each once, in order


class CrashAfterPublish(EventStore):
    """Dies between publishing an event and recording that it was published."""

    crashed = False

    async def mark_published(self, stream: str, version: int, etag: str | None) -> None:
        if not self.crashed:
            self.crashed = True
            raise SystemExit("killed")
        await super().mark_published(stream, version, etag)


async def test_outbox_relay_crash_after_publish_resends_with_the_same_id() -> None:
    state = InMemoryStateStore()
    events = [quote(1), quote(2)]
    await EventStore(state, "/test").append("s", 0, events)
    first = RecordingPublisher()
    with pytest.raises(SystemExit):
        await OutboxRelay(CrashAfterPublish(state, "/test"), "s", first).drain()
    second = RecordingPublisher()
    await OutboxRelay(EventStore(state, "/test"), "s", second).drain()
    ids = [body["id"] for _, body, _ in first.sent + second.sent]
    # the first event went out twice with one id, which consumers de-duplicate
    assert ids == [str(events[0].event_id), str(events[0].event_id), str(events[1].event_id)]
