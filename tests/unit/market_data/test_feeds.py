"""Feed sources and the runner: cadence, replay pacing, failures that never stop the loop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from market_data.domain.normalise import make_bar
from market_data.domain.replay import schedule
from market_data.domain.synthetic import SyntheticMarket
from market_data.service.feeds import (
    FeedRunner,
    PollingSource,
    ReplaySource,
    StreamSource,
    SyntheticSource,
)
from market_data.service.pipeline import MarketPipeline
from market_data.service.ports import ProviderUnavailableError
from tests.fakes.clock import FakeTime
from tests.fakes.scripted_connector import ScriptedConnector
from trader_common.adapters.inprocess import InMemoryEventBus
from trader_common.contracts import BarClosed, QuoteUpdated
from trader_common.ports import PlatformUnavailableError


class StopFeedError(Exception):
    """Ends an endless feed in a test (as an unexpected error would)."""


class StoppingClock(FakeTime):
    def __init__(self, max_sleeps: int) -> None:
        super().__init__()
        self.max_sleeps = max_sleeps

    async def asleep(self, seconds: float) -> None:
        await super().asleep(seconds)
        if len(self.sleeps) >= self.max_sleeps:
            raise StopFeedError


class FlakyBus(InMemoryEventBus):
    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def publish_many(self, events):  # type: ignore[no-untyped-def]
        if self.failures:
            self.failures -= 1
            raise PlatformUnavailableError("sidecar starting")
        await super().publish_many(events)


def daily(day: int) -> BarClosed:
    return make_bar(
        symbol="GOOG",
        source="replay",
        timeframe="1Day",
        ts_open=datetime(2024, 1, day, 14, 30, tzinfo=UTC),
        ts_close=datetime(2024, 1, day, 21, 0, tzinfo=UTC),
        open_=Decimal(10),
        high=Decimal(11),
        low=Decimal(9),
        close=Decimal(10),
        volume=Decimal(1),
    )


def quote(second: int) -> QuoteUpdated:
    return QuoteUpdated(
        symbol="AAPL",
        source="scripted",
        ts_event=datetime(2024, 1, 2, tzinfo=UTC) + timedelta(seconds=second),
        bid=Decimal(1),
        ask=Decimal(2),
        bid_size=Decimal(1),
        ask_size=Decimal(1),
    )


async def test_synthetic_feed_publishes_a_quote_per_symbol_every_tick() -> None:
    clock = StoppingClock(max_sleeps=3)
    bus = InMemoryEventBus()
    market = SyntheticMarket(["AAPL", "MSFT"], seed=1)
    runner = FeedRunner(
        SyntheticSource(market, 0.5, clock.now, clock.asleep), MarketPipeline(bus), clock.asleep
    )
    with pytest.raises(StopFeedError):
        await runner.run()
    quotes = [e for e in bus.published if isinstance(e, QuoteUpdated)]
    assert sorted({q.symbol for q in quotes}) == ["AAPL", "MSFT"]
    assert len(quotes) == 6
    assert clock.sleeps == [0.5, 0.5, 0.5]
    assert runner.state == "failed"
    assert runner.last_error == "StopFeedError: "


async def test_synthetic_feed_keeps_ticking_when_publishing_fails() -> None:
    clock = StoppingClock(max_sleeps=3)
    bus = FlakyBus(failures=2)
    runner = FeedRunner(
        SyntheticSource(SyntheticMarket(["AAPL"], seed=1), 1, clock.now, clock.asleep),
        MarketPipeline(bus),
        clock.asleep,
    )
    with pytest.raises(StopFeedError):
        await runner.run()
    assert runner.failures == 2
    assert runner.batches == 1  # the third tick got through
    assert [e.symbol for e in bus.published if isinstance(e, QuoteUpdated)] == ["AAPL"]


@pytest.mark.parametrize(("speed", "waits"), [(1, [86400.0, 172800.0]), (3600, [24.0, 48.0])])
async def test_replay_feed_waits_real_gaps_divided_by_speed(
    speed: float, waits: list[float]
) -> None:
    clock = FakeTime()
    bus = InMemoryEventBus()
    source = ReplaySource(schedule([daily(2), daily(3), daily(5)], speed), clock.asleep)
    runner = FeedRunner(source, MarketPipeline(bus), clock.asleep)
    await runner.run()
    assert clock.sleeps == waits
    assert [e.ts_open.day for e in bus.published] == [2, 3, 5]
    assert runner.state == "finished"
    assert source.finished
    assert source.cursor == datetime(2024, 1, 5, 21, 0, tzinfo=UTC)


async def test_replay_feed_full_speed_never_waits() -> None:
    clock = FakeTime()
    bus = InMemoryEventBus()
    source = ReplaySource(schedule([daily(d) for d in range(2, 20)], 0), clock.asleep)
    await FeedRunner(source, MarketPipeline(bus), clock.asleep).run()
    assert clock.sleeps == []
    assert len(bus.published) == 18


async def test_replay_feed_retries_a_failed_batch_until_it_is_published() -> None:
    clock = FakeTime()
    bus = FlakyBus(failures=3)
    source = ReplaySource(schedule([daily(2), daily(3)], 0), clock.asleep)
    runner = FeedRunner(source, MarketPipeline(bus), clock.asleep)
    await runner.run()
    assert len(bus.published) == 2
    assert runner.failures == 3
    assert clock.sleeps == [0.5, 1.0, 2.0]


async def test_polling_feed_survives_provider_errors() -> None:
    clock = StoppingClock(max_sleeps=3)
    bus = InMemoryEventBus()
    connector = ScriptedConnector(quotes=[quote(1)])
    connector.errors = [ProviderUnavailableError("scripted", "HTTP 502")]
    source = PollingSource(connector, ["AAPL"], 2.0, clock.asleep)
    with pytest.raises(StopFeedError):
        await FeedRunner(source, MarketPipeline(bus), clock.asleep).run()
    assert connector.calls == ["latest_quotes"] * 3
    assert len(bus.published) == 1  # the same quote twice is a duplicate
    assert clock.sleeps == [2.0, 2.0, 2.0]


async def test_stream_feed_reconnects_with_backoff_after_a_failure() -> None:
    clock = StoppingClock(max_sleeps=2)
    bus = InMemoryEventBus()
    connector = ScriptedConnector(quotes=[quote(1), quote(2)])
    connector.errors = [ProviderUnavailableError("scripted", "socket closed")]
    source = StreamSource(connector, ["AAPL"], clock.asleep)
    with pytest.raises(StopFeedError):
        await FeedRunner(source, MarketPipeline(bus), clock.asleep).run()
    assert connector.calls == ["stream", "stream"]
    assert clock.sleeps == [1.0, 1.0]
    assert [e.ts_event.second for e in bus.published] == [1, 2]


async def test_replay_cursor_only_moves_past_published_bars() -> None:
    clock = StoppingClock(max_sleeps=2)
    source = ReplaySource(schedule([daily(2), daily(3)], 0), clock.asleep)
    runner = FeedRunner(source, MarketPipeline(FlakyBus(failures=100)), clock.asleep)
    with pytest.raises(StopFeedError):
        await runner.run()
    assert source.cursor is None
    assert runner.failures == 2


async def test_feed_runner_cancelled_is_stopped() -> None:
    import asyncio

    clock = FakeTime()
    ticked = asyncio.Event()

    async def park(_: float) -> None:
        ticked.set()
        await asyncio.Event().wait()

    runner = FeedRunner(
        SyntheticSource(SyntheticMarket(["AAPL"], seed=1), 1, clock.now, park),
        MarketPipeline(InMemoryEventBus()),
        park,
    )
    task = asyncio.create_task(runner.run())
    await ticked.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert runner.state == "stopped"
    assert runner.published == 2


async def test_synthetic_feed_history_backfills_closed_bars_first_then_ticks() -> None:
    clock = StoppingClock(max_sleeps=3)  # two retries of the backfill, then one live tick
    bus = FlakyBus(failures=2)  # the sidecar is still starting: the backfill is retried
    market = SyntheticMarket(["AAPL", "MSFT"], seed=1)
    source = SyntheticSource(market, 1, clock.now, clock.asleep, history_seconds=30 * 60)
    runner = FeedRunner(source, MarketPipeline(bus), clock.asleep)
    with pytest.raises(StopFeedError):
        await runner.run()
    now = clock.now()
    bars = [e for e in bus.published if isinstance(e, BarClosed)]
    for symbol in ("AAPL", "MSFT"):
        mine = [b for b in bars if b.symbol == symbol and b.timeframe == "1Min"]
        assert len(mine) >= 29  # 30 minutes of history: at least 29 whole one-minute bars
        assert all(b.ts_event <= now for b in mine)
        assert [b.ts_event for b in mine] == sorted(b.ts_event for b in mine)
    first_quote = next(i for i, e in enumerate(bus.published) if isinstance(e, QuoteUpdated))
    assert all(isinstance(e, BarClosed) for e in bus.published[:first_quote])
    assert runner.failures == 2
    assert source.retry_failed_batches is False  # live ticks are not retried


async def test_synthetic_feed_without_history_publishes_no_backfill() -> None:
    clock = StoppingClock(max_sleeps=1)
    bus = InMemoryEventBus()
    market = SyntheticMarket(["AAPL"], seed=1)
    runner = FeedRunner(
        SyntheticSource(market, 1, clock.now, clock.asleep), MarketPipeline(bus), clock.asleep
    )
    with pytest.raises(StopFeedError):
        await runner.run()
    assert not [e for e in bus.published if isinstance(e, BarClosed)]
