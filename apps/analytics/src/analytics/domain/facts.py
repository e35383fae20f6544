"""What the read model takes from each event: fills, marks (prices) and bars.

* ``OrderFilled`` / ``OrderPartiallyFilled`` → a fill of (account, strategy, symbol), and a mark
  at the fill price. The account is the event's ``account_id`` when it carries one, else the
  configured default account (the trading engine runs one account).
* ``PositionChanged`` → a mark at the engine's ``market_price`` (when it has one). Positions
  themselves come from the fills: they carry the strategy, and cash and positions then always
  move together.
* ``QuoteUpdated`` → a mark at the mid ``(bid + ask) / 2``.
* ``BarClosed`` → the bar, and a mark at its close (at the bar's close time).

Other events are not used. An event whose amounts are not finite (or absurdly large: 1e18 and
beyond), or whose text cannot be stored, is rejected with the reason (the delivery
dead-letters it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

from trader_common.contracts import (
    BarClosed,
    Event,
    OrderFilled,
    OrderPartiallyFilled,
    PositionChanged,
    QuoteUpdated,
)

from .errors import AnalyticsInputError
from .ledger import Side

MarkSource = Literal["quote", "bar", "position", "fill"]
MARK_RANK: dict[MarkSource, int] = {"quote": 4, "bar": 3, "position": 2, "fill": 1}
"""At one moment, the mark of the best-ranked source wins."""
AMOUNT_LIMIT = Decimal("1e18")
"""Quantities, prices and fees at or beyond this size are refused as nonsense (the contracts
only require them finite)."""


class EventRejectedError(AnalyticsInputError):
    """An event the read model cannot use; the message says why."""


@dataclass(frozen=True, slots=True)
class AccountFact:
    account_id: str
    starting_cash: Decimal


@dataclass(frozen=True, slots=True)
class FillFact:
    fill_id: UUID
    order_id: UUID
    account_id: str
    strategy_id: str
    symbol: str
    at: datetime
    side: Side
    qty: Decimal
    price: Decimal
    fee: Decimal


@dataclass(frozen=True, slots=True)
class MarkFact:
    symbol: str
    at: datetime
    price: Decimal
    source: MarkSource

    @property
    def rank(self) -> int:
        return MARK_RANK[self.source]


@dataclass(frozen=True, slots=True)
class BarFact:
    symbol: str
    timeframe: str
    at: datetime
    ts_open: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


@dataclass(frozen=True, slots=True)
class EventFacts:
    day: date
    """The UTC day of the event: an active day of the daily series."""
    accounts: tuple[AccountFact, ...] = ()
    fills: tuple[FillFact, ...] = ()
    marks: tuple[MarkFact, ...] = ()
    bars: tuple[BarFact, ...] = ()


def _finite(event: Event, **amounts: Decimal) -> None:
    for name, value in amounts.items():
        if not value.is_finite() or abs(value) >= AMOUNT_LIMIT:
            raise EventRejectedError(
                f"{event.cloud_event_type()} {event.event_id}: {name} is {value}, not a finite "
                f"amount below {AMOUNT_LIMIT:,f}"
            )


def _storable(event: Event, **texts: str) -> None:
    for name, value in texts.items():
        if "\x00" in value:
            raise EventRejectedError(
                f"{event.cloud_event_type()} {event.event_id}: {name} contains a NUL character"
            )


def utc_day(moment: datetime) -> date:
    """The UTC calendar day of an aware moment."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise AnalyticsInputError(f"{moment.isoformat()} has no timezone")
    return moment.astimezone(UTC).date()


def _fill_facts(
    event: OrderFilled | OrderPartiallyFilled,
    default_account_id: str,
    starting_cash_of: Callable[[str], Decimal],
) -> EventFacts:
    carried = getattr(event, "account_id", None)
    account_id = carried if isinstance(carried, str) and carried else default_account_id
    _finite(event, fill_qty=event.fill_qty, fill_price=event.fill_price, fee=event.fee)
    _storable(event, account_id=account_id, strategy_id=event.strategy_id, symbol=event.symbol)
    side: Side = "buy" if event.side.value == "buy" else "sell"
    fill = FillFact(
        fill_id=event.fill_id,
        order_id=event.order_id,
        account_id=account_id,
        strategy_id=event.strategy_id,
        symbol=event.symbol,
        at=event.ts_event,
        side=side,
        qty=event.fill_qty,
        price=event.fill_price,
        fee=event.fee,
    )
    return EventFacts(
        day=utc_day(event.ts_event),
        accounts=(AccountFact(account_id, starting_cash_of(account_id)),),
        fills=(fill,),
        marks=(MarkFact(event.symbol, event.ts_event, event.fill_price, "fill"),),
    )


def facts_of(
    event: Event,
    *,
    default_account_id: str,
    starting_cash_of: Callable[[str], Decimal],
) -> EventFacts | None:
    """The read model's facts of ``event``; ``None`` for an event it does not use."""
    if isinstance(event, OrderFilled | OrderPartiallyFilled):
        return _fill_facts(event, default_account_id, starting_cash_of)
    day = utc_day(event.ts_event)
    if isinstance(event, QuoteUpdated):
        _finite(event, bid=event.bid, ask=event.ask)
        _storable(event, symbol=event.symbol)
        mid = (event.bid + event.ask) / 2
        return EventFacts(day=day, marks=(MarkFact(event.symbol, event.ts_event, mid, "quote"),))
    if isinstance(event, BarClosed):
        _finite(
            event,
            open=event.open,
            high=event.high,
            low=event.low,
            close=event.close,
            volume=event.volume,
        )
        _storable(event, symbol=event.symbol)
        bar = BarFact(
            symbol=event.symbol,
            timeframe=event.timeframe,
            at=event.ts_event,
            ts_open=event.ts_open,
            open=event.open,
            high=event.high,
            low=event.low,
            close=event.close,
            volume=event.volume,
        )
        return EventFacts(
            day=day,
            marks=(MarkFact(event.symbol, event.ts_event, event.close, "bar"),),
            bars=(bar,),
        )
    if isinstance(event, PositionChanged):
        _finite(event, market_price=event.market_price, qty=event.qty)
        _storable(event, symbol=event.symbol, account_id=event.account_id)
        marks = (
            (MarkFact(event.symbol, event.ts_event, event.market_price, "position"),)
            if event.market_price > 0
            else ()
        )
        return EventFacts(day=day, marks=marks)
    return None
