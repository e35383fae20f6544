"""The feature store: ingestion from market events and point-in-time reads (no look-ahead)."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ai_decision.domain.feature_series import BarSeries, feature_snapshot_is_consistent
from ai_decision.domain.features import compute_bar_features
from ai_decision.service.feature_store import FeatureStore, bars_key
from tests.unit.ai_decision.builders import T0, bar_event, bar_series, quote_event
from trader_common.adapters.inprocess import InMemoryStateStore
from trader_common.contracts import TradePrinted


async def fed_store(events: list, **kwargs: object) -> FeatureStore:
    store = FeatureStore(InMemoryStateStore(), **kwargs)  # type: ignore[arg-type]
    for event in events:
        await store.ingest(event)
    return store


async def test_feature_store_read_at_t_ignores_bars_after_t_no_look_ahead() -> None:
    bars = bar_series(100, seed=11)
    t = bars[59].ts_close
    only_past = await fed_store([bar_event("AAPL", b) for b in bars[:60]])
    everything = await fed_store([bar_event("AAPL", b) for b in bars])
    # a wild future: later bars at 10x the price must not move anything seen at t
    wild = [
        b.__class__(
            b.ts_open, b.ts_close, b.open * 10, b.high * 10, b.low * 10, b.close * 10, b.volume * 50
        )
        for b in bars[60:]
    ]
    with_wild_future = await fed_store([bar_event("AAPL", b) for b in [*bars[:60], *wild]])

    expected, expected_bars = await only_past.read("AAPL", t, 30)
    for store in (everything, with_wild_future):
        got, got_bars = await store.read("AAPL", t, 30)
        assert got == expected
        assert got_bars == expected_bars
    assert expected.bars == compute_bar_features(bars[:60])
    assert max(b.ts_close for b in expected_bars) <= t


async def test_feature_store_read_between_bars_sees_the_last_closed_bar() -> None:
    bars = bar_series(30, seed=2)
    store = await fed_store([bar_event("AAPL", b) for b in bars])
    just_before_close = bars[20].ts_close - timedelta(microseconds=1)
    vector, recent = await store.read("AAPL", just_before_close, 5)
    assert vector.bars is not None and vector.bars.as_of == bars[19].ts_close
    assert recent[-1] == bars[19]


async def test_feature_store_read_before_any_bar_has_no_features() -> None:
    store = await fed_store([bar_event("AAPL", b) for b in bar_series(10)])
    vector, recent = await store.read("AAPL", T0, 5)
    assert vector.bars is None
    assert recent == []


async def test_feature_store_quotes_and_trades_are_point_in_time() -> None:
    events = [
        quote_event("AAPL", T0 + timedelta(seconds=1), "10.00", "10.02"),
        quote_event("AAPL", T0 + timedelta(seconds=3), "11.00", "11.02"),
        TradePrinted(
            symbol="AAPL",
            source="t",
            ts_event=T0 + timedelta(seconds=2),
            price=Decimal("10.01"),
            size=Decimal(5),
        ),
        TradePrinted(
            symbol="AAPL",
            source="t",
            ts_event=T0 + timedelta(seconds=4),
            price=Decimal("11.01"),
            size=Decimal(5),
        ),
    ]
    store = await fed_store(events)
    vector, _ = await store.read("AAPL", T0 + timedelta(seconds=2))
    assert vector.quote is not None and vector.quote.bid == Decimal("10.00")
    assert vector.last_trade is not None and vector.last_trade.price == Decimal("10.01")
    assert vector.reference_price == Decimal("10.01")


async def test_feature_store_out_of_order_bar_recomputes_later_features_from_their_past() -> None:
    bars = bar_series(50, seed=5)
    shuffled = bars[:]
    random.Random(7).shuffle(shuffled)
    store = await fed_store([bar_event("AAPL", b) for b in shuffled])
    item = await store._state.get(bars_key("AAPL", "1Min"))
    assert item is not None
    series = BarSeries.from_json(item.value)
    assert len(series) == 50
    assert feature_snapshot_is_consistent(series)
    for i in (10, 25, 49):
        vector, _ = await store.read("AAPL", bars[i].ts_close)
        assert vector.bars == compute_bar_features(bars[: i + 1])


async def test_feature_store_redelivered_bar_changes_nothing() -> None:
    bar = bar_series(1)[0]
    store = await fed_store([])
    assert await store.ingest(bar_event("AAPL", bar)) is True
    assert await store.ingest(bar_event("AAPL", bar)) is False


async def test_feature_store_other_timeframe_is_ignored() -> None:
    store = await fed_store([])
    assert await store.ingest(bar_event("AAPL", bar_series(1)[0], timeframe="1Day")) is False
    vector, _ = await store.read("AAPL", T0 + timedelta(days=1))
    assert vector.bars is None


async def test_feature_store_keeps_at_most_max_bars() -> None:
    bars = bar_series(140, seed=9)
    store = await fed_store([bar_event("AAPL", b) for b in bars], max_bars=130)
    item = await store._state.get(bars_key("AAPL", "1Min"))
    assert item is not None and len(item.value["bars"]) == 130
    # an old bar that no longer fits is refused rather than misplaced
    assert await store.ingest(bar_event("AAPL", bars[0])) is False


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(min_value=1, max_value=60),
    seed=st.integers(min_value=0, max_value=10_000),
    cut=st.floats(min_value=0.0, max_value=1.0),
    order_seed=st.integers(min_value=0, max_value=10_000),
)
async def test_feature_store_any_arrival_order_and_any_t_no_look_ahead_property(
    n: int, seed: int, cut: float, order_seed: int
) -> None:
    bars = bar_series(n, seed=seed)
    arrival = bars[:]
    random.Random(order_seed).shuffle(arrival)
    store = await fed_store([bar_event("X", b) for b in arrival])
    t = T0 + timedelta(minutes=cut * (n + 1))
    known = [b for b in bars if b.ts_close <= t]
    vector, recent = await store.read("X", t, 10)
    assert vector.bars == (compute_bar_features(known) if known else None)
    assert recent == known[-10:]


async def test_feature_store_damaged_record_does_not_stop_ingestion() -> None:
    state = InMemoryStateStore()
    await state.save(bars_key("AAPL", "1Min"), {"bars": [["garbage"]], "snapshots": [{}]})
    await state.save("fs:quotes:AAPL", [["not-a-time", "x", "y"]])
    store = FeatureStore(state)
    bar = bar_series(1)[0]
    assert await store.ingest(bar_event("AAPL", bar)) is True
    assert await store.ingest(quote_event("AAPL", bar.ts_close, "1.00", "1.01")) is True
    vector, _ = await store.read("AAPL", bar.ts_close)
    assert vector.bars is not None and vector.bars.close == bar.close
    assert vector.quote is not None and vector.quote.ask == Decimal("1.01")
