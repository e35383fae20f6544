"""Shared fixtures for the trading engine's unit tests: a fixed session calendar (weekdays
14:30-21:00 UTC), a manual clock, predictable ids, and a harness that drives the engine."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from trader_common.contracts import BarClosed, QuoteUpdated
from trader_common.contracts.trade import OrderSide, OrderType, TimeInForce
from trading_engine.domain.assets import Asset, AssetRegistry
from trading_engine.domain.commands import (
    CancelOrder,
    ReplaceOrder,
    SubmitOrder,
)
from trading_engine.domain.core import AccountConfig, ExchangeConfig, Outcome
from trading_engine.domain.events import DomainEvent, OrderFillEvent
from trading_engine.domain.orders import OrderView
from trading_engine.domain.risk import RiskLimits
from trading_engine.domain.sessions import Session
from trading_engine.service.clock import ManualClock, sequential_ids
from trading_engine.service.engine import TradingEngine

D = Decimal
MONDAY = date(2024, 3, 4)
OPEN = datetime.combine(MONDAY, time(14, 30), tzinfo=UTC)
CLOSE = datetime.combine(MONDAY, time(21, 0), tzinfo=UTC)
MIDDAY = OPEN + timedelta(hours=1)


class FixedSessionCalendar:
    """Every weekday trades 14:30-21:00 UTC, whatever the calendar name."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, datetime]] = []

    def session_at_or_after(self, calendar: str, ts: datetime) -> Session:
        self.asked.append((calendar, ts))
        day = ts.astimezone(UTC).date()
        while True:
            if day.weekday() < 5:
                session = Session(
                    datetime.combine(day, time(14, 30), tzinfo=UTC),
                    datetime.combine(day, time(21, 0), tzinfo=UTC),
                )
                if ts < session.close:
                    return session
            day += timedelta(days=1)


def default_assets() -> AssetRegistry:
    return AssetRegistry(
        [
            Asset.equity("AAPL"),  # fractionable, shortable
            Asset.equity("MSFT"),
            Asset("XYZ", fractionable=False, shortable=False),  # whole shares, no shorts
            Asset.crypto("BTC/USD"),
        ]
    )


class Harness:
    """Drives a TradingEngine with a manual clock and records every event it emits."""

    def __init__(
        self,
        *,
        account: AccountConfig | None = None,
        exchange: ExchangeConfig | None = None,
        risk: RiskLimits | None = None,
        assets: AssetRegistry | None = None,
        start: datetime = MIDDAY,
    ) -> None:
        self.clock = ManualClock(start)
        self.calendar = FixedSessionCalendar()
        self.engine = TradingEngine(
            assets=assets or default_assets(),
            calendar=self.calendar,
            clock=self.clock,
            exchange=exchange,
            risk=risk,
            ids=sequential_ids(),
        )
        self.events: list[DomainEvent] = list(
            self.engine.open_account(account or AccountConfig(starting_cash=D(100_000)))
        )

    # -- time and market --------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def at(self, ts: datetime) -> Harness:
        self.clock.set(ts)
        return self

    def later(self, **delta: float) -> datetime:
        return self.clock.advance(timedelta(**delta))

    def _record(self, events: list[DomainEvent]) -> list[DomainEvent]:
        self.events.extend(events)
        return events

    def quote(
        self,
        symbol: str,
        bid: str | Decimal,
        ask: str | Decimal,
        *,
        at: datetime | None = None,
        size: str | Decimal = "100",
        event_id: UUID | None = None,
    ) -> list[DomainEvent]:
        ts = at or self.later(seconds=1)
        if at is not None:
            self.clock.set(max(self.clock.now(), at))
        event = QuoteUpdated(
            event_id=event_id or uuid4(),
            ts_event=ts,
            symbol=symbol,
            source="test",
            bid=D(bid),
            ask=D(ask),
            bid_size=D(size),
            ask_size=D(size),
        )
        return self._record(self.engine.on_quote(event))

    def bar(
        self,
        symbol: str,
        o: str | Decimal,
        h: str | Decimal,
        low: str | Decimal,
        c: str | Decimal,
        *,
        volume: str | Decimal = "1000000",
        start: datetime | None = None,
        minutes: int = 1,
        event_id: UUID | None = None,
        timeframe: str = "1Min",
    ) -> list[DomainEvent]:
        """A bar starting at ``start`` (default: now); the clock moves to its close."""
        ts_open = start or self.now
        ts_close = ts_open + timedelta(minutes=minutes)
        event = BarClosed(
            event_id=event_id or uuid4(),
            ts_event=ts_close,
            ts_open=ts_open,
            symbol=symbol,
            source="test",
            timeframe=timeframe,  # type: ignore[arg-type]
            open=D(o),
            high=D(h),
            low=D(low),
            close=D(c),
            volume=D(volume),
        )
        self.clock.set(max(self.clock.now(), ts_close))
        return self._record(self.engine.on_bar(event))

    def advance(self, ts: datetime) -> list[DomainEvent]:
        self.clock.set(ts)
        return self._record(self.engine.advance_clock())

    # -- commands ---------------------------------------------------------------------------

    def submit(self, **fields: Any) -> Outcome:
        fields.setdefault("symbol", "AAPL")
        fields.setdefault("side", OrderSide.BUY)
        if "qty" not in fields and "notional" not in fields:
            fields["qty"] = D(10)
        outcome = self.engine.submit_order(SubmitOrder(**fields))
        self._record(outcome.events)
        return outcome

    def buy(self, qty: str | Decimal = "10", **fields: Any) -> Outcome:
        return self.submit(side=OrderSide.BUY, qty=D(qty), **fields)

    def sell(self, qty: str | Decimal = "10", **fields: Any) -> Outcome:
        return self.submit(side=OrderSide.SELL, qty=D(qty), **fields)

    def limit(self, side: OrderSide, qty: str, price: str, **fields: Any) -> Outcome:
        return self.submit(
            side=side, qty=D(qty), order_type=OrderType.LIMIT, limit_price=D(price), **fields
        )

    def replace(self, order_id: UUID, **fields: Any) -> Outcome:
        outcome = self.engine.replace_order(ReplaceOrder(order_id=order_id, **fields))
        self._record(outcome.events)
        return outcome

    def cancel(self, order_id: UUID, **fields: Any) -> Outcome:
        outcome = self.engine.cancel_order(CancelOrder(order_id=order_id, **fields))
        self._record(outcome.events)
        return outcome

    def run(self, method: Callable[..., Outcome], command: Any) -> Outcome:
        outcome = method(command)
        self._record(outcome.events)
        return outcome

    # -- reading ----------------------------------------------------------------------------

    def order(self, order_id: UUID | Outcome | None) -> OrderView:
        if isinstance(order_id, Outcome):
            order_id = order_id.order_id
        assert order_id is not None
        view = self.engine.order(order_id)
        assert view is not None, f"no order {order_id}"
        return view

    def fills(self, order_id: UUID | None = None) -> list[OrderFillEvent]:
        return [
            e
            for e in self.events
            if isinstance(e, OrderFillEvent) and (order_id is None or e.order_id == order_id)
        ]

    def of_type(self, cls: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, cls)]

    def position_qty(self, symbol: str = "AAPL") -> Decimal:
        view = self.engine.position(symbol)
        return D(0) if view is None else view.qty

    def check_identity(self) -> None:
        """cash + market value = starting cash + realized + unrealized - fees, to the cent."""
        a = self.engine.account()
        left = a.cash + a.market_value
        right = a.starting_cash + a.realized_pnl + a.unrealized_pnl - a.fees
        assert abs(left - right) < D("0.01"), (left, right)


@pytest.fixture
def harness() -> Harness:
    return Harness()


@pytest.fixture
def make_harness() -> Callable[..., Harness]:
    return Harness


__all__ = [
    "CLOSE",
    "MIDDAY",
    "OPEN",
    "FixedSessionCalendar",
    "Harness",
    "OrderSide",
    "OrderType",
    "TimeInForce",
]


@pytest.fixture
def times() -> Any:
    """The fixed session of the harness: Monday 2024-03-04, 14:30-21:00 UTC."""
    from types import SimpleNamespace

    return SimpleNamespace(open=OPEN, close=CLOSE, midday=MIDDAY, monday=MONDAY)
