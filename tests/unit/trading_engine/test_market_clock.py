"""Market time: with ``TRADING_ENGINE_CLOCK=market`` the engine's clock is the time of the
latest market event, so past bars (replay, dual-run) fill orders as a backtest does; GET
/market shows the clock and each symbol's last bar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

import anyio
import pytest
from fastapi.testclient import TestClient

from trader_common.contracts import BarClosed
from trader_common.contracts.trade import OrderSide, OrderStatus, TimeInForce
from trading_engine.adapters.inprocess_store import InMemoryEventStore
from trading_engine.domain.assets import Asset, AssetRegistry
from trading_engine.domain.commands import SubmitOrder
from trading_engine.domain.core import AccountConfig, ExchangeConfig
from trading_engine.domain.sessions import ALWAYS_OPEN_SESSION, Session
from trading_engine.main import StartedService, create_app
from trading_engine.service.clock import MarketClock
from trading_engine.service.engine import TradingEngine
from trading_engine.service.trading_service import TradingService
from trading_engine.settings import TradingEngineSettings

DAY1 = datetime(2019, 3, 4, 14, 30, tzinfo=UTC)


class AlwaysOpen:
    def session_at_or_after(self, calendar: str, ts: datetime) -> Session:
        return ALWAYS_OPEN_SESSION


def daily_bar(symbol: str, day: int, o: str, c: str) -> BarClosed:
    ts_open = DAY1 + timedelta(days=day)
    low, high = min(Decimal(o), Decimal(c)), max(Decimal(o), Decimal(c))
    return BarClosed(
        event_id=uuid4(),
        ts_event=ts_open + timedelta(hours=6, minutes=30),
        ts_open=ts_open,
        symbol=symbol,
        source="test",
        timeframe="1Day",
        open=Decimal(o),
        high=high,
        low=low,
        close=Decimal(c),
        volume=Decimal(1_000_000),
    )


def market_engine() -> TradingEngine:
    engine = TradingEngine(
        assets=AssetRegistry([Asset.equity("AAPL", calendar="24/7")]),
        calendar=AlwaysOpen(),
        clock=MarketClock(),
        exchange=ExchangeConfig(bar_timeframe="1Day"),
    )
    engine.open_account(AccountConfig(starting_cash=Decimal(100_000)))
    return engine


def test_market_clock_starts_at_epoch_and_never_moves_back() -> None:
    clock = MarketClock()
    assert clock.now() == datetime(1970, 1, 1, tzinfo=UTC)
    clock.observe(DAY1)
    clock.observe(DAY1 - timedelta(days=1))
    assert clock.now() == DAY1


def test_market_clock_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        MarketClock().observe(datetime(2019, 3, 4))  # noqa: DTZ001 - the point of the test


def test_market_clock_order_after_past_bar_fills_at_next_bars_open() -> None:
    engine = market_engine()
    first = daily_bar("AAPL", 0, "170", "172")
    engine.on_market_event(first)
    placed = engine.submit_order(
        SubmitOrder(
            symbol="AAPL",
            side=OrderSide.BUY,
            qty=Decimal(10),
            time_in_force=TimeInForce.GTC,
            client_order_id="after-day-1",
        )
    )
    assert placed.order_id is not None
    order = engine.order(placed.order_id)
    assert order is not None
    assert order.created_at == first.ts_event  # placed at the bar's close, in market time
    assert order.status is not OrderStatus.FILLED
    engine.on_market_event(daily_bar("AAPL", 1, "175", "171"))
    filled = engine.order(order.order_id)
    assert filled is not None
    assert filled.status is OrderStatus.FILLED
    assert filled.avg_fill_price == Decimal(175)


def test_market_clock_other_timeframes_do_not_fill_daily_engine() -> None:
    engine = market_engine()
    engine.on_market_event(daily_bar("AAPL", 0, "170", "172"))
    engine.submit_order(
        SubmitOrder(
            symbol="AAPL", side=OrderSide.BUY, qty=Decimal(1), time_in_force=TimeInForce.GTC
        )
    )
    minute = daily_bar("AAPL", 1, "175", "176").model_copy(update={"timeframe": "1Min"})
    engine.on_market_event(minute)
    assert engine.orders(open_only=True)


def test_get_market_shows_clock_and_last_bar_per_symbol() -> None:
    app = create_app(TradingEngineSettings(log_json=False, clock="market", bar_timeframe="1Day"))
    service = TradingService(market_engine(), store=InMemoryEventStore())
    started = StartedService(service)
    app.state.started = started
    bar = daily_bar("AAPL", 2, "180", "181")

    async def boot() -> None:
        await service.start()
        await service.on_market_event(bar)
        started.ready.set()

    anyio.run(boot)
    body = TestClient(app).get("/market").json()
    assert body["now"] == bar.ts_event.isoformat()
    assert body["last_bars"]["AAPL"]["ts_close"] == bar.ts_event.isoformat()
    assert body["last_bars"]["AAPL"]["close"] == "181"


def test_settings_unknown_clock_is_refused() -> None:
    with pytest.raises(ValueError, match="clock"):
        TradingEngineSettings(clock="sundial")  # type: ignore[arg-type]
