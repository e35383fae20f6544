"""State is rebuilt by replaying events: from scratch, or from a snapshot plus the tail."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from trader_common.contracts.trade import OrderClass, OrderSide, OrderType, TimeInForce
from trader_common.ports import ConcurrencyConflictError
from trading_engine.adapters.inprocess_store import InMemoryEventStore, InMemorySnapshotStore
from trading_engine.domain.commands import StopLoss, TakeProfit
from trading_engine.domain.core import ExchangeConfig
from trading_engine.domain.errors import TradingDomainError
from trading_engine.domain.risk import RiskLimits
from trading_engine.domain.state import EngineState
from trading_engine.service.ports import Snapshot

D = Decimal

BUY, SELL = OrderSide.BUY, OrderSide.SELL


def _busy_day(h) -> None:
    """A session touching every kind of event: fills, partials, brackets, trailing stops,
    replaces, cancels, expiries, a risk breach and a resume."""
    from trading_engine.domain.commands import ResumeTrading

    h.quote("AAPL", "100.00", "100.10")
    h.buy("10")
    h.bar("AAPL", "100", "100", "100", "100", start=h.now - timedelta(minutes=1))
    h.submit(
        qty=D(5),
        order_class=OrderClass.BRACKET,
        take_profit=TakeProfit(limit_price=D("104.00")),
        stop_loss=StopLoss(stop_price=D("97.00")),
    )
    trailing = h.submit(
        side=SELL, qty=D(3), order_type=OrderType.TRAILING_STOP, trail_price=D("1.00")
    ).order_id
    limit = h.limit(BUY, "400", "99.00").order_id
    h.replace(limit, limit_price=D("99.50"))
    h.bar("AAPL", "99.40", "100.00", "99.20", "99.90", volume="1000")
    h.quote("AAPL", "102.00", "102.10")
    h.quote("AAPL", "100.50", "100.60")
    h.limit(SELL, "2", "130.00", client_order_id="far")
    h.cancel(h.engine.order_by_client_id("far").order_id)
    h.quote("AAPL", "50.00", "50.10")  # breach
    h.run(h.engine.resume_trading, ResumeTrading(operator="ops", reason="test"))
    h.quote("BTC/USD", "60000", "60010")
    h.submit(symbol="BTC/USD", qty=D("0.01"), time_in_force=TimeInForce.GTC)
    h.advance(h.now + timedelta(days=1))
    assert h.engine.state.orders[trailing] is not None


@pytest.fixture
def busy(make_harness):
    h = make_harness(
        exchange=ExchangeConfig(max_volume_share=D("0.25")),
        risk=RiskLimits(max_daily_loss=D(100), max_orders_per_window=100),
    )
    _busy_day(h)
    return h


def test_replay_of_all_events_rebuilds_identical_state(busy) -> None:
    rebuilt = EngineState.replay(busy.events, rate_memory=100)
    assert rebuilt == busy.engine.state
    assert rebuilt.version == len(busy.events)


def test_replay_snapshot_plus_tail_equals_full_replay(busy) -> None:
    events = busy.events
    for cut in (1, len(events) // 3, len(events) // 2, len(events) - 1):
        snapshot = EngineState.replay(events[:cut], rate_memory=100).snapshot()
        snapshot.apply_all(events[cut:])
        assert snapshot == busy.engine.state, f"differs when cut at {cut}"


def test_replay_snapshot_is_independent_of_the_live_state(busy) -> None:
    snapshot = busy.engine.state.snapshot()
    busy.quote("AAPL", "10.00", "10.10")
    assert snapshot != busy.engine.state


def test_replay_an_inconsistent_stream_is_refused(busy) -> None:
    from dataclasses import replace
    from uuid import UUID

    from trading_engine.domain.errors import InvalidTransitionError
    from trading_engine.domain.events import OrderFilled

    filled = next(e for e in busy.events if isinstance(e, OrderFilled))
    state = EngineState.replay(busy.events, rate_memory=100)
    second = replace(filled, event_id=UUID(int=10**9), fill_id=UUID(int=10**9 + 1))
    with pytest.raises(InvalidTransitionError, match="from filled to filled"):
        state.apply(second)  # a second final fill of a filled order


def test_replay_event_for_unknown_order_is_refused(busy) -> None:
    from dataclasses import replace
    from uuid import UUID

    from trading_engine.domain.events import OrderCanceled

    canceled = next(e for e in busy.events if isinstance(e, OrderCanceled))
    with pytest.raises(TradingDomainError, match="event for unknown order"):
        EngineState().apply(replace(canceled, order_id=UUID(int=5)))


async def test_event_store_append_checks_expected_version(busy) -> None:
    store = InMemoryEventStore()
    assert await store.append("s", 0, busy.events[:3]) == 3
    with pytest.raises(ConcurrencyConflictError, match="is at version 3, not 2"):
        await store.append("s", 2, busy.events[3:5])
    assert await store.append("s", 3, busy.events[3:5]) == 5
    assert await store.load("s", 3) == busy.events[3:5]
    assert await store.load("other") == []


async def test_snapshot_store_keeps_the_latest_copy(busy) -> None:
    snapshots = InMemorySnapshotStore()
    state = busy.engine.state
    await snapshots.save("s", Snapshot(10, state))
    await snapshots.save("s", Snapshot(5, state))  # older: ignored
    latest = await snapshots.latest("s")
    assert latest is not None and latest.version == 10
    assert latest.state == state and latest.state is not state


def test_codec_every_event_round_trips_through_json(busy) -> None:
    import json

    from trading_engine.service.codec import EVENT_CLASSES, decode_event, encode_event

    seen = set()
    for event in busy.events:
        text = json.dumps(encode_event(event))
        assert decode_event(json.loads(text)) == event
        seen.add(type(event).__name__)
    # The busy day covers most event types; the rest are checked by name here.
    assert len(seen) >= 14, sorted(set(EVENT_CLASSES) - seen)
    decoded = [decode_event(json.loads(json.dumps(encode_event(e)))) for e in busy.events]
    assert EngineState.replay(decoded, rate_memory=100) == busy.engine.state


def test_codec_malformed_payload_raises_naming_the_problem() -> None:
    from trading_engine.service.codec import EventCodecError, decode_event

    with pytest.raises(EventCodecError, match="unknown type"):
        decode_event({"type": "NoSuchEvent", "data": {}})
    with pytest.raises(EventCodecError, match="'OrderCanceled' event is malformed"):
        decode_event({"type": "OrderCanceled", "data": {"event_id": "not-a-uuid"}})


def test_snapshot_survives_pickling(busy) -> None:
    import pickle

    assert pickle.loads(pickle.dumps(busy.engine.state)) == busy.engine.state
