"""Orders routed to Alpaca: the real alpaca-py TradingClient and TradingStream against the
loopback fake of Alpaca's Trading API (tests/fakes/alpaca_trading.py), with the routed
trading service over the in-process event store."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.fakes.alpaca_trading import FakeAlpacaTrading
from tests.fakes.server import serve
from trader_common.adapters.inprocess import InMemoryEventBus
from trader_common.contracts import BrokerPositionsDiverged, QuoteUpdated
from trader_common.contracts.trade import OrderSide, OrderStatus, OrderType, TimeInForce
from trading_engine.adapters.alpaca_broker import AlpacaBroker, AlpacaTradeUpdates
from trading_engine.adapters.inprocess_store import InMemoryEventStore
from trading_engine.domain.assets import Asset, AssetRegistry
from trading_engine.domain.commands import CancelOrder, ReplaceOrder, SubmitOrder
from trading_engine.domain.core import AccountConfig
from trading_engine.domain.errors import InvalidTransitionError
from trading_engine.domain.events import OrderFillEvent
from trading_engine.domain.orders import OrderView
from trading_engine.domain.sessions import Session
from trading_engine.service.broker_positions import BrokerPositionWatch
from trading_engine.service.clock import SystemClock
from trading_engine.service.engine import TradingEngine
from trading_engine.service.routing import RoutedTradingService

D = Decimal
KEY, SECRET = "AKTESTROUTING0001", "routing-secret-do-not-log"


class OpenAroundNow:
    """The market is open from an hour ago to an hour from now."""

    def session_at_or_after(self, calendar: str, ts: datetime) -> Session:
        now = datetime.now(UTC)
        return Session(now - timedelta(hours=1), now + timedelta(hours=1))


async def eventually(check: Callable[[], bool], what: str, within: float = 10.0) -> None:
    """Wait for ``check`` to hold (the stream is asynchronous); fail naming ``what``."""
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


class Routed:
    def __init__(self, fake: FakeAlpacaTrading, url: str, resubmit_window: float) -> None:
        self.fake = fake
        self.store = InMemoryEventStore()
        self.engine = TradingEngine(
            assets=AssetRegistry([Asset.equity("AAPL"), Asset.equity("MSFT")]),
            calendar=OpenAroundNow(),
            clock=SystemClock(),
            external=True,
        )
        self.broker = AlpacaBroker(
            KEY, SECRET, url_override=url, retry_attempts=3, retry_wait_seconds=0.01
        )
        self.service = RoutedTradingService(
            self.engine,
            store=self.store,
            broker=self.broker,
            resubmit_window=timedelta(seconds=resubmit_window),
        )
        self.updates = AlpacaTradeUpdates(
            KEY,
            SECRET,
            on_report=self.service.on_broker_report,
            on_connect=self.service.reconcile,
            url_override=url.replace("http://", "ws://") + "/stream",
            reconnect_backoff=0.05,
        )
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.service.start(AccountConfig(starting_cash=D(100_000)))
        now = datetime.now(UTC)
        await self.service.on_market_event(
            QuoteUpdated(
                ts_event=now,
                symbol="AAPL",
                source="test",
                bid=D("149.90"),
                ask=D("150.00"),
                bid_size=D(100),
                ask_size=D(100),
            )
        )
        self.task = asyncio.create_task(self.updates.run())
        await eventually(lambda: self.fake.listening == 1, "the stream to listen")

    async def stop(self) -> None:
        await self.updates.stop()
        if self.task is not None:
            await asyncio.wait_for(self.task, 10)

    def order(self, client_order_id: str) -> OrderView:
        view = self.engine.order_by_client_id(client_order_id)
        assert view is not None, client_order_id
        return view

    async def fills(self) -> list[OrderFillEvent]:
        events = await self.store.load(self.service.stream)
        return [e for e in events if isinstance(e, OrderFillEvent)]


@pytest.fixture
def fake() -> Iterator[tuple[FakeAlpacaTrading, str]]:
    venue = FakeAlpacaTrading(key=KEY, secret=SECRET)
    with serve(venue.app) as url:
        yield venue, url


@pytest.fixture
async def routed(fake: tuple[FakeAlpacaTrading, str]) -> AsyncIterator[Routed]:
    venue, url = fake
    harness = Routed(venue, url, resubmit_window=60)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


def limit_buy(coid: str, qty: str = "10", price: str = "150", symbol: str = "AAPL") -> SubmitOrder:
    return SubmitOrder(
        symbol=symbol,
        side=OrderSide.BUY,
        order_type=OrderType.LIMIT,
        time_in_force=TimeInForce.DAY,
        qty=D(qty),
        limit_price=D(price),
        client_order_id=coid,
    )


async def test_submit_partial_then_full_fill_updates_position(routed: Routed) -> None:
    outcome = await routed.service.submit_order(limit_buy("buy-1"))
    assert outcome.accepted
    await eventually(lambda: routed.order("buy-1").status is OrderStatus.NEW, "the order is new")
    assert routed.order("buy-1").broker_order_id == routed.fake.by_client_id("buy-1")["id"]

    routed.fake.fill("buy-1", "4", "149.50")
    await eventually(lambda: routed.order("buy-1").filled_qty == 4, "the partial fill")
    assert routed.order("buy-1").status is OrderStatus.PARTIALLY_FILLED
    routed.fake.fill("buy-1", "6", "149.80")
    await eventually(lambda: routed.order("buy-1").status is OrderStatus.FILLED, "the fill")

    position = routed.engine.position("AAPL")
    assert position is not None and position.qty == 10
    account = routed.engine.account()
    assert account.cash == D(100_000) - D("598.00") - D("898.80")
    fills = await routed.fills()
    assert [(f.fill_qty, f.fill_price) for f in fills] == [(4, D("149.50")), (6, D("149.80"))]


async def test_submit_refused_by_alpaca_is_rejected_with_its_reason(routed: Routed) -> None:
    routed.fake.refuse("MSFT", 403, "insufficient buying power")

    outcome = await routed.service.submit_order(limit_buy("buy-msft", symbol="MSFT"))

    assert outcome.rejected_reason == "Alpaca refused the order: insufficient buying power"
    order = routed.order("buy-msft")
    assert order.status is OrderStatus.REJECTED
    assert order.reason == outcome.rejected_reason
    assert routed.engine.state.open_order_count == 0
    assert routed.engine.state.reserved == 0


async def test_submit_rate_limited_once_places_exactly_one_order(routed: Routed) -> None:
    routed.fake.rate_limit("/v2/orders", retry_after="1", times=1)

    outcome = await routed.service.submit_order(limit_buy("buy-429"))

    assert outcome.accepted and outcome.rejected_reason is None
    assert routed.fake.posts() == 2  # the 429, then alpaca-py's retry
    assert [o["client_order_id"] for o in routed.fake.orders.values()] == ["buy-429"]
    assert routed.order("buy-429").broker_order_id is not None


async def test_submit_rate_limited_persistently_stays_pending_then_reconciliation_places_it(
    routed: Routed,
) -> None:
    routed.fake.rate_limit("/v2/orders", retry_after="1", times=4)  # 1 try + 3 retries

    outcome = await routed.service.submit_order(limit_buy("buy-busy"))

    assert outcome.accepted
    assert routed.fake.posts() == 4 and routed.fake.orders == {}
    pending = routed.order("buy-busy")
    assert pending.status is OrderStatus.PENDING_NEW and pending.broker_order_id is None

    result = await routed.service.reconcile()

    assert result.resubmitted == 1
    assert [o["client_order_id"] for o in routed.fake.orders.values()] == ["buy-busy"]
    assert routed.order("buy-busy").broker_order_id == routed.fake.by_client_id("buy-busy")["id"]


async def test_submit_rate_limited_beyond_resubmit_window_is_rejected_with_the_error(
    fake: tuple[FakeAlpacaTrading, str],
) -> None:
    venue, url = fake
    harness = Routed(venue, url, resubmit_window=0)
    await harness.start()
    try:
        venue.rate_limit("/v2/orders", times=4)
        await harness.service.submit_order(limit_buy("buy-late"))
        await harness.service.reconcile()
        order = harness.order("buy-late")
        assert order.status is OrderStatus.REJECTED
        assert order.reason is not None and "HTTP 429 after 4 attempts" in order.reason
        assert venue.orders == {}
    finally:
        await harness.stop()


async def test_stream_dropped_with_fills_between_resumes_every_fill_once(routed: Routed) -> None:
    venue = routed.fake
    await routed.service.submit_order(limit_buy("buy-drop"))
    await eventually(lambda: routed.order("buy-drop").status is OrderStatus.NEW, "new")
    first_connections = routed.updates.connections

    venue.block_stream = True
    venue.drop_stream()
    await eventually(lambda: venue.listening == 0, "the drop")
    venue.fill("buy-drop", "3", "150.00")
    missed = venue.fill("buy-drop", "2", "150.10")
    assert len(venue.lost) == 2 and routed.order("buy-drop").filled_qty == 0

    venue.block_stream = False
    await eventually(lambda: routed.updates.connections > first_connections, "the reconnect")
    await eventually(lambda: routed.order("buy-drop").filled_qty == 5, "reconciliation")
    # A late delivery of an update that reconciliation already covered changes nothing.
    venue.push(missed)
    venue.fill("buy-drop", "5", "149.90")
    await eventually(lambda: routed.order("buy-drop").status is OrderStatus.FILLED, "the fill")

    fills = await routed.fills()
    assert sum(f.fill_qty for f in fills) == 10
    assert [(f.fill_qty, f.fill_price) for f in fills] == [(5, D("150.04")), (5, D("149.90"))]
    assert routed.engine.account().cash == D(100_000) - D("450.00") - D("300.20") - D("749.50")
    assert routed.engine.position("AAPL").qty == 10  # type: ignore[union-attr]


async def test_cancel_routes_to_alpaca_and_ends_canceled(routed: Routed) -> None:
    await routed.service.submit_order(limit_buy("buy-cancel"))
    order_id = routed.order("buy-cancel").order_id

    await routed.service.cancel_order(CancelOrder(order_id=order_id))

    assert routed.order("buy-cancel").status is OrderStatus.CANCELED
    assert routed.fake.by_client_id("buy-cancel")["status"] == "canceled"
    assert routed.engine.state.reserved == 0


async def test_cancel_of_a_filled_order_is_refused(routed: Routed) -> None:
    await routed.service.submit_order(limit_buy("buy-done", qty="1"))
    routed.fake.fill("buy-done", "1", "150")
    await eventually(lambda: routed.order("buy-done").status is OrderStatus.FILLED, "the fill")

    with pytest.raises(InvalidTransitionError):
        await routed.service.cancel_order(CancelOrder(order_id=routed.order("buy-done").order_id))


async def test_replace_routes_to_alpaca_old_replaced_new_working(routed: Routed) -> None:
    await routed.service.submit_order(limit_buy("buy-old"))
    old = routed.order("buy-old")

    outcome = await routed.service.replace_order(
        ReplaceOrder(order_id=old.order_id, limit_price=D("151"), client_order_id="buy-new")
    )

    assert outcome.accepted and outcome.order_id is not None
    new = routed.order("buy-new")
    assert new.order_id == outcome.order_id and new.replaces == old.order_id
    assert new.broker_order_id == routed.fake.by_client_id("buy-new")["id"]
    assert routed.fake.by_client_id("buy-new")["limit_price"] == "151.0"
    replaced = routed.order("buy-old")
    assert replaced.status is OrderStatus.REPLACED and replaced.replaced_by == new.order_id
    await eventually(lambda: routed.order("buy-new").status is OrderStatus.NEW, "the new order")


async def test_replace_refused_by_alpaca_keeps_the_old_order_working(routed: Routed) -> None:
    await routed.service.submit_order(limit_buy("keep-old"))
    old = routed.order("keep-old")
    routed.fake.fail("/v2/orders/", 422, {"code": 42210000, "message": "order is not replaceable"})

    outcome = await routed.service.replace_order(
        ReplaceOrder(order_id=old.order_id, limit_price=D("151"), client_order_id="keep-new")
    )

    assert outcome.order_id == old.order_id
    assert outcome.rejected_reason == (
        "replace refused: Alpaca refused the replace: order is not replaceable"
    )
    assert routed.order("keep-old").status in (OrderStatus.ACCEPTED, OrderStatus.NEW)
    assert routed.order("keep-new").status is OrderStatus.REJECTED


async def test_stream_bad_messages_are_skipped_and_the_stream_keeps_working(
    routed: Routed, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await routed.service.submit_order(limit_buy("buy-bad"))
    venue = routed.fake
    venue.push_raw(b"{not json")
    venue.push({"event": "fill"})  # no order
    venue.push({"event": "mystery", "order": {"id": "x"}})  # an order alpaca-py cannot read
    stranger = dict(venue.by_client_id("buy-bad"), client_order_id="not-ours")
    venue.push({"event": "new", "order": stranger, "timestamp": stranger["updated_at"]})
    venue.fill("buy-bad", "10", "150")

    await eventually(lambda: routed.order("buy-bad").status is OrderStatus.FILLED, "the fill")
    assert routed.updates.skipped == 2
    assert venue.listening == 1 and routed.updates.connections == 1
    assert "no order with client_order_id 'not-ours'" in caplog.text


async def test_positions_compared_with_alpaca_only_a_holding_from_outside_diverges(
    routed: Routed,
) -> None:
    bus = InMemoryEventBus()
    watch = BrokerPositionWatch(
        broker=lambda: routed.service.broker,
        engine_positions=lambda: {p.symbol: p.qty for p in routed.engine.positions()},
        now=routed.engine.now,
        publisher=bus,
    )
    await routed.service.submit_order(limit_buy("pos-1"))
    routed.fake.fill("pos-1", "10", "149.5")
    await eventually(lambda: routed.order("pos-1").status is OrderStatus.FILLED, "the fill")
    for _ in range(2):
        assert (await watch.check()).in_line
    routed.fake.hold("MSFT", "5")  # bought in Alpaca's dashboard, not through the engine
    assert not (await watch.check()).differences
    check = await watch.check()
    assert [(d.symbol, d.engine_qty, d.broker_qty) for d in check.differences] == [
        ("MSFT", D(0), D(5))
    ]
    [event] = bus.published
    assert isinstance(event, BrokerPositionsDiverged)
    assert event.differences[0].symbol == "MSFT"
