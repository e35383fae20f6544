"""The trading engine's EventStore and SnapshotStore adapters on the real state stores
(Redis, Postgres) through daprd: JSON round trips exactly, ETag-guarded appends, snapshots."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

import pytest

from tests.integration.test_eventstore_dapr import state_sidecar  # noqa: F401 - the fixture
from trader_common.adapters.dapr import DaprSidecar, DaprStateStore
from trader_common.contracts import QuoteUpdated
from trader_common.contracts.trade import OrderSide, OrderType, TimeInForce
from trader_common.eventstore import EventStore as RecordStore
from trader_common.ports import ConcurrencyConflictError
from trading_engine.adapters.dapr_store import DaprEventStore, DaprSnapshotStore
from trading_engine.domain.assets import Asset, AssetRegistry
from trading_engine.domain.commands import SubmitOrder
from trading_engine.domain.core import AccountConfig
from trading_engine.domain.sessions import ALWAYS_OPEN_SESSION, Session
from trading_engine.service.clock import ManualClock
from trading_engine.service.engine import TradingEngine
from trading_engine.service.trading_service import TradingService

pytestmark = pytest.mark.integration
D = Decimal
START = datetime(2024, 3, 4, 15, 0, tzinfo=UTC)


class AlwaysOpen:
    def session_at_or_after(self, calendar: str, ts: datetime) -> Session:
        return ALWAYS_OPEN_SESSION


@pytest.fixture
async def records(state_sidecar: int) -> AsyncIterator[RecordStore]:  # noqa: F811
    sidecar = DaprSidecar(state_sidecar)
    try:
        yield RecordStore(DaprStateStore(sidecar, "statestore"), "/trading-engine", segment_size=8)
    finally:
        await sidecar.close()


def _service(records: RecordStore, stream: str, snapshot_every: int = 10_000) -> TradingService:
    engine = TradingEngine(
        assets=AssetRegistry([Asset.equity("AAPL")]),
        calendar=AlwaysOpen(),
        clock=ManualClock(START),
    )
    return TradingService(
        engine,
        store=DaprEventStore(records, "/trading-engine"),
        snapshots=DaprSnapshotStore(records),
        stream=stream,
        snapshot_every=snapshot_every,
    )


def _quote(bid: str, ask: str) -> QuoteUpdated:
    return QuoteUpdated(
        ts_event=START, symbol="AAPL", source="t", bid=D(bid), ask=D(ask), bid_size=1, ask_size=1
    )


async def _trade(service: TradingService) -> None:
    await service.on_market_event(_quote("100.00", "100.10"))
    for i in range(6):
        await service.submit_order(
            SubmitOrder(symbol="AAPL", side=OrderSide.BUY, qty=D("0.5"), client_order_id=f"m{i}")
        )
    await service.submit_order(
        SubmitOrder(
            symbol="AAPL",
            side=OrderSide.SELL,
            qty=D(1),
            order_type=OrderType.LIMIT,
            limit_price=D("150.25"),
            time_in_force=TimeInForce.GTC,
        )
    )


async def test_dapr_engine_store_restart_rebuilds_the_same_state(records: RecordStore) -> None:
    stream = f"te-{uuid4().hex[:8]}"
    first = _service(records, stream, snapshot_every=7)
    await first.start(AccountConfig(starting_cash=D("12345.67")))
    await _trade(first)
    snapshot = await DaprSnapshotStore(records).latest(stream)
    assert snapshot is not None and 0 < snapshot.version <= first.engine.version
    second = _service(records, stream)
    await second.start()
    assert second.engine.state == first.engine.state
    assert second.engine.account().cash == first.engine.account().cash


async def test_dapr_engine_store_two_writers_one_wins_the_other_follows(
    records: RecordStore,
) -> None:
    stream = f"te-{uuid4().hex[:8]}"
    one = _service(records, stream)
    await one.start()
    two = _service(records, stream)
    await two.start()
    results = await asyncio.gather(
        one.on_market_event(_quote("100.00", "100.10")),
        two.on_market_event(_quote("100.01", "100.11")),
        return_exceptions=True,
    )
    conflicts = [r for r in results if isinstance(r, ConcurrencyConflictError)]
    assert len(conflicts) == 1
    assert one.engine.state == two.engine.state  # the loser rebuilt from the store
