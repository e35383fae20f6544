"""Domain events: immutable facts in the past tense. Applying them (``EngineState.apply``) is the
only way the engine's state changes, so replaying a stream rebuilds the state exactly.

Every event carries ``event_id``, ``ts_event`` (when it happened: market time for fills and
marks, command time for commands) and ``ts_recorded`` (when the engine recorded it). Order
events also carry the order id, client order id, strategy and symbol.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

from trader_common.contracts.system import TradingState
from trader_common.contracts.trade import Liquidity, OrderSide, OrderStatus

from .orders import OrderTicket
from .records import record


class AccountType(StrEnum):
    CASH = "cash"
    MARGIN = "margin"


@record
class DomainEvent:
    event_id: UUID
    ts_event: datetime
    ts_recorded: datetime


@record
class AccountOpened(DomainEvent):
    account_id: str
    account_type: AccountType
    starting_cash: Decimal
    margin_multiplier: Decimal
    shorting_enabled: bool


@record
class OrderEvent(DomainEvent):
    order_id: UUID
    client_order_id: str
    strategy_id: str
    symbol: str


@record
class OrderAccepted(OrderEvent):
    """Risk passed and the order works at the paper exchange (or waits: accepted, held)."""

    ticket: OrderTicket
    status: OrderStatus
    expires_at: datetime | None
    auction_at: datetime | None
    water_mark: Decimal | None
    estimate_price: Decimal
    opening_qty: Decimal


@record
class OrderRejected(OrderEvent):
    """The order was refused; ``reason`` is written for a person."""

    ticket: OrderTicket
    reason: str


@record
class OrderAcknowledged(OrderEvent):
    """The broker took the order (external execution): it knows it as ``broker_order_id`` and
    has it in ``status`` (new, accepted, ... or still pending_new)."""

    status: OrderStatus
    broker_order_id: str


@record
class OrderStatusChanged(OrderEvent):
    """The broker moved the order to ``status``, a move that fills nothing and ends nothing
    (pending_cancel, pending_replace, done_for_day, new again after a refused cancel, ...)."""

    status: OrderStatus
    reason: str


@record
class OrderCancelRequested(OrderEvent):
    """The engine asked the broker to cancel the order (external execution); the broker's
    answer (canceled, or a fill that won the race) follows as its own event."""

    reason: str


@record
class OrderActivated(OrderEvent):
    """A held child order (bracket/OTO leg) started working because its parent filled."""

    status: OrderStatus
    qty: Decimal


@record
class OrderTriggered(OrderEvent):
    """A stop, stop-limit or trailing stop order's stop price was reached."""

    trigger_price: Decimal


@record
class TrailingStopMoved(OrderEvent):
    """The water mark of a trailing stop improved, moving its stop price with it."""

    water_mark: Decimal
    stop_price: Decimal


@record
class OrderQuantityReduced(OrderEvent):
    """An OCO leg shrank because its sibling filled part of the shared quantity."""

    qty: Decimal
    reason: str


@record
class OrderFillEvent(OrderEvent):
    fill_id: UUID
    side: OrderSide
    fill_qty: Decimal
    fill_price: Decimal
    gross_amount: Decimal  # fill_qty * fill_price rounded to the cent: what cash moves by
    fee: Decimal
    liquidity: Liquidity
    filled_qty: Decimal  # cumulative, after this fill
    leaves_qty: Decimal
    avg_fill_price: Decimal


@record
class OrderPartiallyFilled(OrderFillEvent):
    pass


@record
class OrderFilled(OrderFillEvent):
    pass


@record
class OrderCanceled(OrderEvent):
    reason: str
    filled_qty: Decimal


@record
class OrderExpired(OrderEvent):
    reason: str
    filled_qty: Decimal


@record
class OrderReplaced(OrderEvent):
    """The order was replaced by ``replaced_by`` (whose OrderAccepted follows in the same
    batch); fills so far stay with this order."""

    replaced_by: UUID
    filled_qty: Decimal


@record
class MarketQuoteObserved(DomainEvent):
    """The engine took a quote into account (marks, triggers, fills that follow)."""

    symbol: str
    bid: Decimal
    ask: Decimal
    bid_size: Decimal
    ask_size: Decimal
    source_event_id: UUID


@record
class MarketBarObserved(DomainEvent):
    """The engine took a closed bar into account. ``ts_event`` is the bar's close."""

    symbol: str
    timeframe: str
    ts_open: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    source_event_id: UUID


@record
class RiskDayStarted(DomainEvent):
    """A new risk day began: the daily loss limit now measures from ``start_equity``."""

    day: date
    start_equity: Decimal
    ends_at: datetime


@record
class RiskLimitBreached(DomainEvent):
    rule: str
    detail: str
    action: TradingState


@record
class RiskLimitCleared(DomainEvent):
    rule: str
    detail: str


@record
class TradingStateChanged(DomainEvent):
    previous: TradingState
    current: TradingState
    reason: str
    changed_by: str  # "risk" or the operator's name


ORDER_FILL_EVENTS = (OrderPartiallyFilled, OrderFilled)
