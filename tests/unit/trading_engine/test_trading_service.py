"""The service: engine + event store (optimistic concurrency) + snapshots + publishing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from trader_common.adapters.inprocess import InMemoryEventBus
from trader_common.contracts import (
    OrderAccepted,
    OrderFilled,
    PositionChanged,
    QuoteUpdated,
    Topic,
    TradingStateChanged,
)
from trader_common.contracts.registry import REGISTRY
from trader_common.contracts.trade import OrderSide, OrderType
from trader_common.ports import ConcurrencyConflictError
from trading_engine.adapters.inprocess_store import InMemoryEventStore, InMemorySnapshotStore
from trading_engine.domain.assets import Asset, AssetRegistry
from trading_engine.domain.commands import (
    CancelOrder,
    HaltTrading,
    ReplaceOrder,
    SubmitOrder,
)
from trading_engine.domain.core import AccountConfig
from trading_engine.domain.sessions import Session
from trading_engine.service.clock import ManualClock, sequential_ids
from trading_engine.service.engine import TradingEngine
from trading_engine.service.trading_service import TradingService

D = Decimal

START = datetime(2024, 3, 4, 15, 0, tzinfo=UTC)


class OneSession:
    def session_at_or_after(self, calendar: str, ts: datetime) -> Session:
        return Session(
            datetime(2024, 3, 4, 14, 30, tzinfo=UTC), datetime(2024, 3, 4, 21, tzinfo=UTC)
        )


def _engine(clock: ManualClock, start_id: int = 1) -> TradingEngine:
    return TradingEngine(
        assets=AssetRegistry([Asset.equity("AAPL")]),
        calendar=OneSession(),
        clock=clock,
        ids=sequential_ids(start_id),
    )


def _quote(bid: str, ask: str, ts: datetime) -> QuoteUpdated:
    return QuoteUpdated(
        ts_event=ts, symbol="AAPL", source="t", bid=D(bid), ask=D(ask), bid_size=D(1), ask_size=D(1)
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


async def _service(clock, **kwargs):
    store = kwargs.pop("store", InMemoryEventStore())
    bus = InMemoryEventBus()
    service = TradingService(
        _engine(clock, kwargs.pop("start_id", 1)), store=store, publisher=bus, **kwargs
    )
    await service.start(AccountConfig(starting_cash=D(50_000)))
    return service, store, bus


async def test_service_persists_every_event_and_publishes_contract_events(clock) -> None:
    service, store, bus = await _service(clock)
    await service.on_market_event(_quote("100.00", "100.10", START))
    outcome = await service.submit_order(SubmitOrder(symbol="AAPL", side=OrderSide.BUY, qty=D(5)))
    assert outcome.accepted
    assert store.version(service.stream) == service.engine.version
    kinds = [type(e) for e in bus.published]
    assert kinds == [OrderAccepted, OrderFilled, PositionChanged]
    accepted, filled, position = bus.published
    assert accepted.status == "new" and accepted.qty == D(5) and accepted.order_class == "simple"
    assert filled.fill_price == D("100.10") and filled.liquidity == "taker"
    assert position.topic is Topic.POSITIONS
    assert (position.qty, position.avg_entry_price, position.account_id) == (
        D(5),
        D("100.10"),
        "paper",
    )
    for event in bus.published:  # each one survives the wire
        again = REGISTRY[event.cloud_event_type()].model_validate(event.payload())
        assert again == event


async def test_service_restart_rebuilds_the_same_state_from_the_store(clock) -> None:
    service, store, _ = await _service(clock)
    await service.on_market_event(_quote("100.00", "100.10", START))
    await service.submit_order(SubmitOrder(symbol="AAPL", side=OrderSide.BUY, qty=D(5)))
    order = await service.submit_order(
        SubmitOrder(
            symbol="AAPL",
            side=OrderSide.BUY,
            qty=D(5),
            order_type=OrderType.LIMIT,
            limit_price=D("99.00"),
        )
    )
    await service.replace_order(ReplaceOrder(order_id=order.order_id, limit_price=D("98.00")))
    restarted = TradingService(_engine(clock, 1000), store=store)
    await restarted.start()
    assert restarted.engine.state == service.engine.state


async def test_service_restart_from_snapshot_and_tail(clock) -> None:
    snapshots = InMemorySnapshotStore()
    service, store, _ = await _service(clock, snapshots=snapshots, snapshot_every=3)
    await service.on_market_event(_quote("100.00", "100.10", START))
    for _ in range(4):
        await service.submit_order(SubmitOrder(symbol="AAPL", side=OrderSide.BUY, qty=D(1)))
    await service.on_market_event(_quote("100.10", "100.20", START + timedelta(seconds=1)))
    latest = await snapshots.latest(service.stream)
    assert latest is not None and 0 < latest.version < store.version(service.stream)
    restarted = TradingService(_engine(clock, 1000), store=store, snapshots=snapshots)
    await restarted.start()
    assert restarted.engine.state == service.engine.state


async def test_service_conflicting_writer_fails_and_memory_follows_the_store(clock) -> None:
    store = InMemoryEventStore()
    first, _, _ = await _service(clock, store=store)
    second = TradingService(_engine(clock, 500), store=store)
    await second.start()
    await first.on_market_event(_quote("100.00", "100.10", START))  # second is now behind
    with pytest.raises(ConcurrencyConflictError):
        await second.submit_order(SubmitOrder(symbol="AAPL", side=OrderSide.BUY, qty=D(1)))
    assert second.engine.state == first.engine.state  # rebuilt from the store
    outcome = await second.submit_order(SubmitOrder(symbol="AAPL", side=OrderSide.BUY, qty=D(1)))
    assert outcome.accepted  # the retry succeeds


async def test_service_publishes_trading_state_changes_on_system_events(clock) -> None:
    service, _, bus = await _service(clock)
    await service.halt_trading(HaltTrading(operator="ops", reason="fire drill"))
    (change,) = [e for e in bus.published if isinstance(e, TradingStateChanged)]
    assert change.topic is Topic.SYSTEM
    assert (change.previous, change.current, change.scope) == ("active", "halted", "global")
    assert change.reason == "fire drill (by ops)"


async def test_service_cancel_and_duplicate_publish_nothing_twice(clock) -> None:
    service, _, bus = await _service(clock)
    await service.on_market_event(_quote("100.00", "100.10", START))
    order = await service.submit_order(
        SubmitOrder(
            symbol="AAPL",
            side=OrderSide.BUY,
            qty=D(1),
            order_type=OrderType.LIMIT,
            limit_price=D("99.00"),
            client_order_id="c1",
        )
    )
    await service.cancel_order(CancelOrder(order_id=order.order_id))
    published = len(bus.published)
    await service.cancel_order(CancelOrder(order_id=order.order_id))
    await service.submit_order(
        SubmitOrder(symbol="AAPL", side=OrderSide.BUY, qty=D(1), client_order_id="c1")
    )
    assert len(bus.published) == published


async def test_service_advance_clock_expires_day_orders(clock) -> None:
    service, _, bus = await _service(clock)
    await service.on_market_event(_quote("100.00", "100.10", START))
    order = await service.submit_order(
        SubmitOrder(
            symbol="AAPL",
            side=OrderSide.BUY,
            qty=D(1),
            order_type=OrderType.LIMIT,
            limit_price=D("99.00"),
        )
    )
    clock.set(START + timedelta(hours=7))
    await service.advance_clock()
    assert service.engine.order(order.order_id).status == "expired"
    assert bus.published[-1].cloud_event_type() == "ai.active-trader.trade.order-expired.v1"
