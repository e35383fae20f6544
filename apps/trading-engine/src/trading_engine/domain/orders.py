"""Orders: the one transition table of the order lifecycle, the immutable terms of an order
(its ticket) and the order record that only ``EngineState.apply`` changes.

Status names are Alpaca's. The table follows nautilus_trader's idea of an explicit
(from, to) whitelist: anything not listed is refused with an error naming both states.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from trader_common.contracts.trade import (
    OrderClass,
    OrderLeg,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
)

from .errors import InvalidTransitionError
from .numbers import FRACTIONAL_QTY_STEP, ZERO, floor_to
from .records import record

S = OrderStatus

# Every allowed move of an order's status. An order is born in pending_new; the paper exchange
# moves it to new (routed and working), accepted (queued while its market is closed) or held
# (a bracket/OTO child waiting for its parent). pending_* states are there for venues that
# answer asynchronously (a broker adapter); the in-process exchange answers at once.
TRANSITIONS: Mapping[OrderStatus, frozenset[OrderStatus]] = {
    # pending_cancel: a broker order can be canceled before the venue has acknowledged it.
    S.PENDING_NEW: frozenset(
        {S.NEW, S.ACCEPTED, S.HELD, S.ACCEPTED_FOR_BIDDING, S.REJECTED, S.PENDING_CANCEL}
    ),
    S.ACCEPTED_FOR_BIDDING: frozenset({S.NEW, S.ACCEPTED, S.REJECTED, S.CANCELED, S.EXPIRED}),
    S.PENDING_REVIEW: frozenset({S.NEW, S.ACCEPTED, S.REJECTED}),
    S.ACCEPTED: frozenset(
        {
            S.NEW,
            S.PARTIALLY_FILLED,
            S.FILLED,
            S.PENDING_CANCEL,
            S.CANCELED,
            S.PENDING_REPLACE,
            S.REPLACED,
            S.EXPIRED,
            S.REJECTED,
        }
    ),
    S.HELD: frozenset(
        {S.NEW, S.ACCEPTED, S.PENDING_CANCEL, S.CANCELED, S.PENDING_REPLACE, S.REPLACED, S.EXPIRED}
    ),
    S.NEW: frozenset(
        {
            S.PARTIALLY_FILLED,
            S.FILLED,
            S.PENDING_CANCEL,
            S.CANCELED,
            S.PENDING_REPLACE,
            S.REPLACED,
            S.EXPIRED,
            S.DONE_FOR_DAY,
            S.STOPPED,
            S.SUSPENDED,
            S.REJECTED,
        }
    ),
    S.PARTIALLY_FILLED: frozenset(
        {
            S.PARTIALLY_FILLED,
            S.FILLED,
            S.PENDING_CANCEL,
            S.CANCELED,
            S.PENDING_REPLACE,
            S.REPLACED,
            S.EXPIRED,
            S.DONE_FOR_DAY,
            S.STOPPED,
            S.CALCULATED,
        }
    ),
    S.DONE_FOR_DAY: frozenset(
        {
            S.NEW,
            S.PARTIALLY_FILLED,
            S.FILLED,
            S.PENDING_CANCEL,
            S.CANCELED,
            S.PENDING_REPLACE,
            S.REPLACED,
            S.EXPIRED,
            S.CALCULATED,
        }
    ),
    # A cancel or replace request can lose the race against a fill, or be refused by the venue
    # (the order then goes back to working).
    S.PENDING_CANCEL: frozenset(
        {S.CANCELED, S.PARTIALLY_FILLED, S.FILLED, S.NEW, S.ACCEPTED, S.EXPIRED}
    ),
    S.PENDING_REPLACE: frozenset(
        {
            S.REPLACED,
            S.PARTIALLY_FILLED,
            S.FILLED,
            S.NEW,
            S.ACCEPTED,
            S.PENDING_CANCEL,
            S.CANCELED,
            S.EXPIRED,
        }
    ),
    S.STOPPED: frozenset({S.FILLED, S.CANCELED, S.EXPIRED}),
    S.SUSPENDED: frozenset({S.NEW, S.ACCEPTED, S.CANCELED, S.EXPIRED}),
    S.CALCULATED: frozenset({S.FILLED, S.DONE_FOR_DAY, S.CANCELED, S.EXPIRED}),
    S.FILLED: frozenset(),
    S.CANCELED: frozenset(),
    S.EXPIRED: frozenset(),
    S.REPLACED: frozenset(),
    S.REJECTED: frozenset(),
}

TERMINAL_STATUSES = frozenset(status for status, targets in TRANSITIONS.items() if not targets)
FILLABLE_STATUSES = frozenset({S.NEW, S.ACCEPTED, S.PARTIALLY_FILLED, S.DONE_FOR_DAY})


def check_transition(order_id: UUID, current: OrderStatus, target: OrderStatus) -> None:
    """Raise unless the table allows ``current`` -> ``target``."""
    if target not in TRANSITIONS[current]:
        raise InvalidTransitionError(
            f"order {order_id}: cannot go from {current.value} to {target.value}"
        )


def can_transition(current: OrderStatus, target: OrderStatus) -> bool:
    return target in TRANSITIONS[current]


@record
class OrderTicket:
    """The immutable terms of one order, as accepted (or rejected)."""

    order_id: UUID
    client_order_id: str
    strategy_id: str
    symbol: str
    side: OrderSide
    order_type: OrderType
    time_in_force: TimeInForce
    order_class: OrderClass = OrderClass.SIMPLE
    qty: Decimal | None = None
    notional: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_price: Decimal | None = None
    trail_percent: Decimal | None = None
    leg: OrderLeg | None = None
    parent_id: UUID | None = None
    oco_sibling_id: UUID | None = None
    child_ids: tuple[UUID, ...] = ()
    replaces: UUID | None = None


@dataclass(slots=True)
class Order:
    """An order's current state. Only ``EngineState.apply`` mutates it."""

    ticket: OrderTicket
    status: OrderStatus
    created_at: datetime
    updated_at: datetime
    qty: Decimal | None  # None while a notional order has not filled completely
    expires_at: datetime | None = None  # day: session close; opg: close of the opening session
    auction_at: datetime | None = None  # opg: session open; cls: session close
    water_mark: Decimal | None = None  # trailing stops: the high (sell) or low (buy) water mark
    triggered: bool = False
    parent_id: UUID | None = None
    oco_sibling_id: UUID | None = None
    child_ids: tuple[UUID, ...] = ()
    replaced_by: UUID | None = None
    filled_qty: Decimal = ZERO
    filled_notional: Decimal = ZERO  # sum of fill_qty * fill_price, for the average price
    gross_amount: Decimal = ZERO  # sum of cent-rounded fill amounts
    fees: Decimal = ZERO
    fill_ids: set[UUID] = field(default_factory=set)
    estimate_price: Decimal = ZERO  # price used to size risk and the buying power reservation
    opening_qty: Decimal = ZERO  # part of the order that increased exposure when accepted
    # What this order currently adds to the per-symbol open quantity and to reserved buying
    # power; kept so the aggregates can be adjusted by difference.
    counted_qty: Decimal = ZERO
    reserved: Decimal = ZERO
    reason: str | None = None
    # Orders routed to a broker: its id for the order, and whether we asked it to cancel.
    broker_order_id: str | None = None
    cancel_requested: bool = False

    @property
    def order_id(self) -> UUID:
        return self.ticket.order_id

    @property
    def symbol(self) -> str:
        return self.ticket.symbol

    @property
    def side(self) -> OrderSide:
        return self.ticket.side

    @property
    def is_buy(self) -> bool:
        return self.ticket.side is OrderSide.BUY

    @property
    def order_type(self) -> OrderType:
        return self.ticket.order_type

    @property
    def time_in_force(self) -> TimeInForce:
        return self.ticket.time_in_force

    @property
    def is_notional(self) -> bool:
        return self.ticket.notional is not None

    @property
    def is_leg(self) -> bool:
        return self.ticket.leg is not None

    @property
    def is_open(self) -> bool:
        return self.status not in TERMINAL_STATUSES

    @property
    def is_fillable(self) -> bool:
        return self.status in FILLABLE_STATUSES

    @property
    def leaves_qty(self) -> Decimal:
        """Quantity still to fill (for a notional order: what the estimate price would buy)."""
        if not self.is_open:
            return ZERO
        if self.qty is not None:
            return self.qty - self.filled_qty
        notional = self.ticket.notional
        assert notional is not None  # an order has qty or notional; validated at submission
        if self.estimate_price <= ZERO:
            return ZERO
        estimate = floor_to(
            (notional - self.filled_notional) / self.estimate_price, FRACTIONAL_QTY_STEP
        )
        return max(ZERO, estimate)

    @property
    def remaining_notional(self) -> Decimal:
        notional = self.ticket.notional
        return ZERO if notional is None else notional - self.filled_notional

    @property
    def avg_fill_price(self) -> Decimal | None:
        if self.filled_qty == ZERO:
            return None
        return self.filled_notional / self.filled_qty

    def view(self) -> OrderView:
        t = self.ticket
        return OrderView(
            order_id=t.order_id,
            client_order_id=t.client_order_id,
            strategy_id=t.strategy_id,
            symbol=t.symbol,
            side=t.side,
            order_type=t.order_type,
            time_in_force=t.time_in_force,
            order_class=t.order_class,
            status=self.status,
            qty=self.qty,
            notional=t.notional,
            limit_price=t.limit_price,
            stop_price=t.stop_price,
            trail_price=t.trail_price,
            trail_percent=t.trail_percent,
            water_mark=self.water_mark,
            triggered=self.triggered,
            filled_qty=self.filled_qty,
            avg_fill_price=self.avg_fill_price,
            fees=self.fees,
            leg=t.leg,
            parent_id=self.parent_id,
            oco_sibling_id=self.oco_sibling_id,
            child_ids=self.child_ids,
            replaces=t.replaces,
            replaced_by=self.replaced_by,
            created_at=self.created_at,
            updated_at=self.updated_at,
            expires_at=self.expires_at,
            reason=self.reason,
            broker_order_id=self.broker_order_id,
            cancel_requested=self.cancel_requested,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderView:
    """A read-only picture of an order, for queries and API responses."""

    order_id: UUID
    client_order_id: str
    strategy_id: str
    symbol: str
    side: OrderSide
    order_type: OrderType
    time_in_force: TimeInForce
    order_class: OrderClass
    status: OrderStatus
    qty: Decimal | None
    notional: Decimal | None
    limit_price: Decimal | None
    stop_price: Decimal | None
    trail_price: Decimal | None
    trail_percent: Decimal | None
    water_mark: Decimal | None
    triggered: bool
    filled_qty: Decimal
    avg_fill_price: Decimal | None
    fees: Decimal
    leg: OrderLeg | None
    parent_id: UUID | None
    oco_sibling_id: UUID | None
    child_ids: tuple[UUID, ...]
    replaces: UUID | None
    replaced_by: UUID | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None
    reason: str | None
    broker_order_id: str | None = None
    cancel_requested: bool = False
