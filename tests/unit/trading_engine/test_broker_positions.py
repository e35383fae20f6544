"""Comparing the engine's positions with the broker's: a difference counts only when two
checks in a row see it, is published once (again when it changes), and its clearing is
published too; a broker that cannot answer concludes nothing."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

import anyio
import pytest
from fastapi.testclient import TestClient

from trader_common.adapters.inprocess import InMemoryEventBus
from trader_common.contracts import BrokerPositionsDiverged, BrokerPositionsRealigned, Event
from trading_engine.adapters.calendar import ExchangeCalendarSessions
from trading_engine.adapters.inprocess_store import InMemoryEventStore
from trading_engine.domain.assets import Asset, AssetRegistry
from trading_engine.domain.broker import PositionDifference, position_differences
from trading_engine.main import StartedService, create_app
from trading_engine.service.broker_positions import BrokerPositionWatch
from trading_engine.service.clock import ManualClock
from trading_engine.service.engine import TradingEngine
from trading_engine.service.ports import BrokerUnavailableError
from trading_engine.service.trading_service import TradingService
from trading_engine.settings import TradingEngineSettings

D = Decimal
NOW = datetime(2024, 3, 4, 15, tzinfo=UTC)


class FakeBroker:
    """Answers ``positions`` with what the test sets (or raises ``failure``)."""

    def __init__(self) -> None:
        self.held: dict[str, Decimal] = {}
        self.failure: Exception | None = None

    async def positions(self) -> dict[str, Decimal]:
        if self.failure is not None:
            raise self.failure
        return dict(self.held)


class FailingPublisher:
    async def publish(self, event: Event) -> None:
        raise ConnectionError("sidecar gone")

    async def publish_many(self, events: Sequence[Event]) -> None:
        raise ConnectionError("sidecar gone")


def watch(
    broker: FakeBroker, ours: dict[str, Decimal], bus: InMemoryEventBus | FailingPublisher
) -> BrokerPositionWatch:
    return BrokerPositionWatch(
        broker=lambda: broker,  # type: ignore[arg-type,return-value]
        engine_positions=lambda: ours,
        now=lambda: NOW,
        publisher=bus,
    )


def test_position_differences_symbol_missing_on_one_side_counts_as_flat() -> None:
    found = position_differences(
        {"AAPL": D(10), "MSFT": D(5)}, {"AAPL": D(10), "NVDA": D(-3), "MSFT": D("5.0")}
    )
    assert found == [PositionDifference(symbol="NVDA", engine_qty=D(0), broker_qty=D(-3))]


def test_position_differences_same_positions_are_none() -> None:
    assert position_differences({}, {}) == []
    assert position_differences({"BTC/USD": D("0.5")}, {"BTC/USD": D("0.50")}) == []


async def test_position_watch_difference_seen_once_is_not_reported() -> None:
    broker, bus = FakeBroker(), InMemoryEventBus()
    broker.held = {"AAPL": D(10)}  # the broker counted a fill whose report is on its way
    positions = watch(broker, {}, bus)
    check = await positions.check()
    assert check.differences == () and len(check.unconfirmed) == 1 and not check.in_line
    assert bus.published == []


async def test_position_watch_difference_seen_twice_is_published_once() -> None:
    broker, bus = FakeBroker(), InMemoryEventBus()
    broker.held = {"AAPL": D(10), "MSFT": D(-2)}
    positions = watch(broker, {"AAPL": D(10)}, bus)
    for _ in range(4):
        check = await positions.check()
    assert check.differences == (
        PositionDifference(symbol="MSFT", engine_qty=D(0), broker_qty=D(-2)),
    )
    [event] = bus.published
    assert isinstance(event, BrokerPositionsDiverged)
    assert event.broker == "alpaca" and event.service == "trading-engine"
    assert [(d.symbol, d.engine_qty, d.broker_qty) for d in event.differences] == [
        ("MSFT", D(0), D(-2))
    ]


async def test_position_watch_changed_difference_is_published_again() -> None:
    broker, bus = FakeBroker(), InMemoryEventBus()
    broker.held = {"MSFT": D(-2)}
    positions = watch(broker, {}, bus)
    await positions.check()
    await positions.check()
    broker.held = {"MSFT": D(-2), "NVDA": D(1)}
    await positions.check()  # NVDA seen once: MSFT alone is still the confirmed divergence
    assert len(bus.published) == 1
    await positions.check()
    assert len(bus.published) == 2
    second = bus.published[1]
    assert isinstance(second, BrokerPositionsDiverged)
    assert [d.symbol for d in second.differences] == ["MSFT", "NVDA"]


async def test_position_watch_cleared_difference_publishes_realigned() -> None:
    broker, bus = FakeBroker(), InMemoryEventBus()
    ours: dict[str, Decimal] = {}
    broker.held = {"AAPL": D(7)}
    positions = watch(broker, ours, bus)
    await positions.check()
    await positions.check()
    ours["AAPL"] = D(7)  # the operator adopted the position (or closed it at the broker)
    check = await positions.check()
    assert check.in_line
    assert [type(e) for e in bus.published] == [BrokerPositionsDiverged, BrokerPositionsRealigned]
    await positions.check()
    assert len(bus.published) == 2


async def test_position_watch_broker_unavailable_reports_the_error_and_concludes_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker, bus = FakeBroker(), InMemoryEventBus()
    broker.held = {"AAPL": D(1)}
    positions = watch(broker, {}, bus)
    await positions.check()
    broker.failure = BrokerUnavailableError("Alpaca failed on the positions (HTTP 503): down")
    with caplog.at_level(logging.WARNING):
        check = await positions.check()
    assert check.error is not None and "HTTP 503" in check.error and not check.in_line
    assert "could not compare positions" in caplog.text
    broker.failure = None
    await positions.check()  # a failed check does not break the confirmation either
    assert len(bus.published) == 1


async def test_position_watch_publish_failure_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = FakeBroker()
    broker.held = {"AAPL": D(1)}
    positions = watch(broker, {}, FailingPublisher())
    with caplog.at_level(logging.WARNING):
        await positions.check()
        check = await positions.check()
    assert len(check.differences) == 1
    assert "positions differ from alpaca's: AAPL: engine 0, alpaca 1" in caplog.text
    assert "could not publish system.broker-positions-diverged" in caplog.text


def api(routing: object | None) -> TestClient:
    """The app over an in-memory service, ready, with ``routing`` as broker=alpaca's."""
    app = create_app(TradingEngineSettings(log_json=False))
    engine = TradingEngine(
        assets=AssetRegistry([Asset.equity("AAPL")]),
        calendar=ExchangeCalendarSessions(),
        clock=ManualClock(NOW),
    )
    service = TradingService(engine, store=InMemoryEventStore())
    started = StartedService(service)
    started.routing = routing  # type: ignore[assignment]
    app.state.started = started
    anyio.run(service.start)
    started.ready.set()
    return TestClient(app)


def test_get_broker_positions_paper_engine_is_404_saying_there_is_no_broker() -> None:
    response = api(None).get("/broker/positions")
    assert response.status_code == 404
    assert "TRADING_ENGINE_BROKER=paper" in response.json()["detail"]


def test_get_broker_positions_before_and_after_checks_shows_the_differences() -> None:
    broker = FakeBroker()
    broker.held = {"AAPL": D("2.5")}
    positions = watch(broker, {}, InMemoryEventBus())
    client = api(SimpleNamespace(positions=positions))
    before = client.get("/broker/positions").json()
    assert before == {
        "broker": "alpaca",
        "checked_at": None,
        "in_line": None,
        "differences": [],
        "unconfirmed": [],
        "error": None,
    }
    anyio.run(positions.check)
    first = client.get("/broker/positions").json()
    assert first["in_line"] is False and first["differences"] == []
    assert first["unconfirmed"] == [{"symbol": "AAPL", "engine_qty": "0", "broker_qty": "2.5"}]
    anyio.run(positions.check)
    second = client.get("/broker/positions").json()
    assert second["differences"] == first["unconfirmed"] and second["unconfirmed"] == []
    assert second["checked_at"].startswith("2024-03-04T15:00:00")
