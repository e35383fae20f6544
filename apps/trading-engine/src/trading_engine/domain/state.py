"""The engine's state and the one way it changes: ``EngineState.apply(event)``.

Decisions (``core.TradingCore``) read the state and emit events; each event is applied at once,
so the next decision sees it. Replaying a stream of events into a fresh state, or into a
snapshot plus the events after it, gives the same state.
"""

from __future__ import annotations

import copy
import heapq
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from trader_common.contracts.system import TradingState
from trader_common.contracts.trade import OrderLeg, OrderSide, OrderStatus

from .errors import InvalidTransitionError, TradingDomainError
from .events import (
    AccountOpened,
    DomainEvent,
    MarketBarObserved,
    MarketQuoteObserved,
    OrderAccepted,
    OrderAcknowledged,
    OrderActivated,
    OrderCanceled,
    OrderCancelRequested,
    OrderExpired,
    OrderFilled,
    OrderFillEvent,
    OrderPartiallyFilled,
    OrderQuantityReduced,
    OrderRejected,
    OrderReplaced,
    OrderStatusChanged,
    OrderTriggered,
    RiskDayStarted,
    RiskLimitBreached,
    RiskLimitCleared,
    TradingStateChanged,
    TrailingStopMoved,
)
from .market import Bar, Quote
from .numbers import ZERO
from .orders import TERMINAL_STATUSES, TRANSITIONS, Order, check_transition
from .portfolio import Account

S = OrderStatus


@dataclass(slots=True)
class MarketSeen:
    """Newest market event time per symbol, and the ids seen at that time: a redelivered
    event (same id) or an older one changes nothing."""

    ts: datetime
    event_ids: set[UUID]


@dataclass(slots=True)
class EngineState:
    rate_memory: int = 0  # how many recent acceptance times the order-rate rule needs
    account: Account | None = None
    orders: dict[UUID, Order] = field(default_factory=dict)
    client_order_ids: dict[str, UUID] = field(default_factory=dict)
    working: dict[str, dict[UUID, Order]] = field(default_factory=dict)  # open orders by symbol
    # Open orders by expiry time (insertion-ordered), and a heap of those times: most orders
    # share a session close. An order leaves its bucket when it ends; an empty bucket goes.
    expiring: dict[datetime, dict[UUID, None]] = field(default_factory=dict)
    expiry_times: list[datetime] = field(default_factory=list)
    open_buy_qty: dict[str, Decimal] = field(default_factory=dict)  # simple orders and entries
    open_sell_qty: dict[str, Decimal] = field(default_factory=dict)
    # What working exit legs (bracket/OCO/OTO children) would buy or sell: the shares they
    # protect are spoken for. An OCO pair shares one quantity, so only one leg counts.
    exit_buy_qty: dict[str, Decimal] = field(default_factory=dict)
    exit_sell_qty: dict[str, Decimal] = field(default_factory=dict)
    reserved: Decimal = ZERO  # buying power held by working orders that open exposure
    open_order_count: int = 0
    last_quote: dict[str, Quote] = field(default_factory=dict)
    last_bar: dict[str, Bar] = field(default_factory=dict)
    quotes_seen: dict[str, MarketSeen] = field(default_factory=dict)
    bars_seen: dict[str, MarketSeen] = field(default_factory=dict)
    trading_state: TradingState = TradingState.ACTIVE
    breached_rules: set[str] = field(default_factory=set)
    peak_equity: Decimal = ZERO
    risk_day: date | None = None
    day_start_equity: Decimal = ZERO
    day_ends_at: datetime | None = None
    recent_accepts: deque[datetime] = field(default_factory=deque)
    clock: datetime | None = None  # latest event time applied
    version: int = 0  # number of events applied

    def __post_init__(self) -> None:
        if self.recent_accepts.maxlen != self.rate_memory:
            self.recent_accepts = deque(self.recent_accepts, maxlen=self.rate_memory)

    # -- reading ------------------------------------------------------------------------------

    @property
    def opened(self) -> bool:
        return self.account is not None

    def require_account(self) -> Account:
        if self.account is None:
            raise TradingDomainError("no account yet: the stream has no AccountOpened event")
        return self.account

    def order_by_client_id(self, client_order_id: str) -> Order | None:
        order_id = self.client_order_ids.get(client_order_id)
        return None if order_id is None else self.orders[order_id]

    def snapshot(self) -> EngineState:
        """An independent copy (orders, positions, everything)."""
        return copy.deepcopy(self)

    # -- changing -----------------------------------------------------------------------------

    def apply(self, event: DomainEvent) -> None:
        handler = _APPLY.get(type(event))
        if handler is None:
            raise TradingDomainError(f"no way to apply {type(event).__name__}")
        handler(self, event)
        self.version += 1
        ts = event.ts_event
        if self.clock is None or ts > self.clock:
            self.clock = ts

    def apply_all(self, events: Iterable[DomainEvent]) -> None:
        for event in events:
            self.apply(event)

    @classmethod
    def replay(cls, events: Iterable[DomainEvent], *, rate_memory: int = 0) -> EngineState:
        state = cls(rate_memory=rate_memory)
        state.apply_all(events)
        return state

    def _account_opened(self, e: AccountOpened) -> None:
        if self.account is not None:
            raise TradingDomainError(f"account {self.account.account_id} is already open")
        self.account = Account(
            account_id=e.account_id,
            account_type=e.account_type,
            starting_cash=e.starting_cash,
            margin_multiplier=e.margin_multiplier,
            shorting_enabled=e.shorting_enabled,
            cash=e.starting_cash,
        )
        self.peak_equity = e.starting_cash
        self.day_start_equity = e.starting_cash

    def _order_accepted(self, e: OrderAccepted) -> None:
        if e.status is not S.PENDING_NEW:  # born pending_new: routed, awaiting the broker
            check_transition(e.order_id, S.PENDING_NEW, e.status)
        ticket = e.ticket
        order = Order(
            ticket=ticket,
            status=e.status,
            created_at=e.ts_event,
            updated_at=e.ts_event,
            qty=ticket.qty,
            expires_at=e.expires_at,
            auction_at=e.auction_at,
            water_mark=e.water_mark,
            parent_id=ticket.parent_id,
            oco_sibling_id=ticket.oco_sibling_id,
            child_ids=ticket.child_ids,
            estimate_price=e.estimate_price,
            opening_qty=e.opening_qty,
        )
        order_id = ticket.order_id
        self.orders[order_id] = order
        self.client_order_ids[ticket.client_order_id] = order_id
        by_symbol = self.working.get(ticket.symbol)
        if by_symbol is None:
            by_symbol = self.working[ticket.symbol] = {}
        by_symbol[order_id] = order
        self.open_order_count += 1
        expires_at = e.expires_at
        if expires_at is not None:
            bucket = self.expiring.get(expires_at)
            if bucket is None:
                bucket = self.expiring[expires_at] = {}
                heapq.heappush(self.expiry_times, expires_at)
            bucket[order_id] = None
        if ticket.replaces is not None:
            self._relink(ticket.replaces, order)
        elif ticket.leg is None:
            self.recent_accepts.append(e.ts_event)
        self._recount(order)

    def _relink(self, old_id: UUID, new: Order) -> None:
        """Point the family of a replaced order at its replacement."""
        for child_id in new.child_ids:
            self.orders[child_id].parent_id = new.order_id
        if new.oco_sibling_id is not None:
            self.orders[new.oco_sibling_id].oco_sibling_id = new.order_id
        if new.parent_id is not None:
            parent = self.orders[new.parent_id]
            parent.child_ids = tuple(
                new.order_id if child == old_id else child for child in parent.child_ids
            )

    def _order_rejected(self, e: OrderRejected) -> None:
        existing = self.orders.get(e.order_id)
        if existing is not None:
            # Recorded and routed, then refused by the broker: it stops counting as open.
            self._set_status(existing, S.REJECTED, e.ts_event)
            existing.reason = e.reason
            self._recount(existing)
            return
        check_transition(e.order_id, S.PENDING_NEW, S.REJECTED)
        ticket = e.ticket
        order = Order(
            ticket=ticket,
            status=S.REJECTED,
            created_at=e.ts_event,
            updated_at=e.ts_event,
            qty=ticket.qty,
            reason=e.reason,
        )
        self.orders[order.order_id] = order
        self.client_order_ids[ticket.client_order_id] = order.order_id

    def _order_acknowledged(self, e: OrderAcknowledged) -> None:
        order = self._order(e.order_id)
        order.broker_order_id = e.broker_order_id
        if e.status is not order.status:
            self._set_status(order, e.status, e.ts_event)
        order.updated_at = e.ts_event
        self._recount(order)

    def _status_changed(self, e: OrderStatusChanged) -> None:
        order = self._order(e.order_id)
        if order.cancel_requested and e.status in (S.NEW, S.ACCEPTED):
            order.cancel_requested = False  # the broker refused the cancel: it works again
        self._set_status(order, e.status, e.ts_event)
        self._recount(order)

    def _cancel_requested(self, e: OrderCancelRequested) -> None:
        order = self._order(e.order_id)
        if order.status is not S.PENDING_CANCEL:
            self._set_status(order, S.PENDING_CANCEL, e.ts_event)
        order.cancel_requested = True
        order.updated_at = e.ts_event
        self._recount(order)

    def _order_activated(self, e: OrderActivated) -> None:
        order = self._order(e.order_id)
        self._set_status(order, e.status, e.ts_event)
        order.qty = e.qty
        self._recount(order)

    def _order_triggered(self, e: OrderTriggered) -> None:
        order = self._order(e.order_id)
        order.triggered = True
        order.updated_at = e.ts_event

    def _trailing_stop_moved(self, e: TrailingStopMoved) -> None:
        order = self._order(e.order_id)
        order.water_mark = e.water_mark
        order.updated_at = e.ts_event

    def _quantity_reduced(self, e: OrderQuantityReduced) -> None:
        order = self._order(e.order_id)
        if order.qty is None or not order.filled_qty < e.qty <= order.qty:
            raise InvalidTransitionError(
                f"order {e.order_id}: cannot reduce quantity from {order.qty} to {e.qty} "
                f"with {order.filled_qty} filled"
            )
        order.qty = e.qty
        order.updated_at = e.ts_event
        self._recount(order)

    def _filled(self, e: OrderFillEvent) -> None:
        order = self._order(e.order_id)
        if e.fill_id in order.fill_ids:
            return  # a redelivered fill changes nothing
        final = isinstance(e, OrderFilled)
        self._set_status(order, S.FILLED if final else S.PARTIALLY_FILLED, e.ts_event)
        order.fill_ids.add(e.fill_id)
        fill_qty, fill_price, gross, fee = e.fill_qty, e.fill_price, e.gross_amount, e.fee
        filled = order.filled_qty = order.filled_qty + fill_qty
        order.filled_notional += fill_qty * fill_price
        order.gross_amount += gross
        order.fees += fee
        qty = order.qty
        if final and qty is None:
            qty = order.qty = filled  # a notional order's quantity is known once it is done
        if qty is not None and filled > qty:
            raise InvalidTransitionError(
                f"order {e.order_id}: fill of {fill_qty} would fill {filled}, "
                f"more than the order's {qty}"
            )
        account = self.require_account()
        buy = order.ticket.side is OrderSide.BUY
        account.apply_fill(e.symbol, buy, fill_qty, fill_price, gross, fee)
        self._recount(order)
        self._note_equity()

    def _canceled(self, e: OrderCanceled) -> None:
        order = self._order(e.order_id)
        self._set_status(order, S.CANCELED, e.ts_event)
        order.reason = e.reason
        self._recount(order)

    def _expired(self, e: OrderExpired) -> None:
        order = self._order(e.order_id)
        self._set_status(order, S.EXPIRED, e.ts_event)
        order.reason = e.reason
        self._recount(order)

    def _replaced(self, e: OrderReplaced) -> None:
        order = self._order(e.order_id)
        self._set_status(order, S.REPLACED, e.ts_event)
        order.replaced_by = e.replaced_by
        self._recount(order)

    def _quote_observed(self, e: MarketQuoteObserved) -> None:
        quote = Quote(e.symbol, e.bid, e.ask, e.bid_size, e.ask_size, e.ts_event, e.source_event_id)
        self.last_quote[e.symbol] = quote
        _remember(self.quotes_seen, e.symbol, e.ts_event, e.source_event_id)
        if self.account is not None:
            self.account.set_mark(e.symbol, quote.mid)
            self._note_equity()

    def _bar_observed(self, e: MarketBarObserved) -> None:
        bar = Bar(
            e.symbol,
            e.timeframe,
            e.ts_open,
            e.ts_event,
            e.open,
            e.high,
            e.low,
            e.close,
            e.volume,
            e.source_event_id,
        )
        self.last_bar[e.symbol] = bar
        _remember(self.bars_seen, e.symbol, e.ts_event, e.source_event_id)
        if self.account is not None:
            self.account.set_mark(e.symbol, e.close)
            self._note_equity()

    def _risk_day_started(self, e: RiskDayStarted) -> None:
        self.risk_day = e.day
        self.day_start_equity = e.start_equity
        self.day_ends_at = e.ends_at

    def _breached(self, e: RiskLimitBreached) -> None:
        self.breached_rules.add(e.rule)

    def _cleared(self, e: RiskLimitCleared) -> None:
        self.breached_rules.discard(e.rule)

    def _trading_state_changed(self, e: TradingStateChanged) -> None:
        if e.previous is not self.trading_state:
            raise InvalidTransitionError(
                f"trading state is {self.trading_state.value}, not {e.previous.value}"
            )
        self.trading_state = e.current

    # -- helpers ------------------------------------------------------------------------------

    def _order(self, order_id: UUID) -> Order:
        try:
            return self.orders[order_id]
        except KeyError:
            raise TradingDomainError(f"event for unknown order {order_id}") from None

    def _set_status(self, order: Order, status: OrderStatus, ts: datetime) -> None:
        """Move ``order`` to ``status``; the caller recounts its aggregates."""
        current = order.status
        if status not in TRANSITIONS[current]:
            check_transition(order.order_id, current, status)  # raises, naming both states
        order.status = status
        order.updated_at = ts
        if status in TERMINAL_STATUSES and current not in TERMINAL_STATUSES:
            self.open_order_count -= 1
            ticket = order.ticket
            by_symbol = self.working.get(ticket.symbol)
            if by_symbol is not None:
                by_symbol.pop(ticket.order_id, None)
            if order.expires_at is not None:
                self._forget_expiry(order.expires_at, ticket.order_id)

    def _forget_expiry(self, expires_at: datetime, order_id: UUID) -> None:
        bucket = self.expiring.get(expires_at)
        if bucket is None:
            return
        bucket.pop(order_id, None)
        if not bucket:
            del self.expiring[expires_at]
            self.expiry_times.remove(expires_at)  # a handful of distinct times: cheap
            heapq.heapify(self.expiry_times)

    def _recount(self, order: Order) -> None:
        """Refresh what ``order`` adds to the open quantities and the reserved buying power."""
        status = order.status
        if status in TERMINAL_STATUSES or status is S.HELD or order.cancel_requested:
            # An order we asked the broker to cancel no longer speaks for shares or cash (the
            # broker itself guards the race against a last fill).
            leaves = ZERO
        elif order.qty is not None:
            leaves = order.qty - order.filled_qty
        else:
            leaves = order.leaves_qty
        ticket = order.ticket
        buy = ticket.side is OrderSide.BUY
        if ticket.leg is None:
            book = self.open_buy_qty if buy else self.open_sell_qty
            counted = leaves
        else:
            book = self.exit_buy_qty if buy else self.exit_sell_qty
            # Sibling legs keep equal leaves (a partial fill of one shrinks the other).
            pair_second = order.oco_sibling_id is not None and ticket.leg is OrderLeg.STOP_LOSS
            counted = ZERO if pair_second else leaves
        delta = counted - order.counted_qty
        if delta:
            book[ticket.symbol] = book.get(ticket.symbol, ZERO) + delta
            order.counted_qty = counted
        opening = order.opening_qty
        reserved = (opening if opening < leaves else leaves) * order.estimate_price
        if reserved != order.reserved:
            self.reserved += reserved - order.reserved
            order.reserved = reserved

    def _note_equity(self) -> None:
        account = self.account
        if account is not None:
            equity = account.cash + account.market_value
            if equity > self.peak_equity:
                self.peak_equity = equity


def _remember(seen: dict[str, MarketSeen], symbol: str, ts: datetime, event_id: UUID) -> None:
    current = seen.get(symbol)
    if current is None or ts > current.ts:
        seen[symbol] = MarketSeen(ts, {event_id})
    else:
        current.event_ids.add(event_id)


def already_seen(seen: dict[str, MarketSeen], symbol: str, ts: datetime, event_id: UUID) -> bool:
    """True when a market event is older than the newest seen, or is that one again."""
    current = seen.get(symbol)
    if current is None:
        return False
    return ts < current.ts or (ts == current.ts and event_id in current.event_ids)


_APPLY: dict[type[DomainEvent], Callable[[EngineState, Any], None]] = {
    AccountOpened: EngineState._account_opened,
    OrderAccepted: EngineState._order_accepted,
    OrderRejected: EngineState._order_rejected,
    OrderAcknowledged: EngineState._order_acknowledged,
    OrderStatusChanged: EngineState._status_changed,
    OrderCancelRequested: EngineState._cancel_requested,
    OrderActivated: EngineState._order_activated,
    OrderTriggered: EngineState._order_triggered,
    TrailingStopMoved: EngineState._trailing_stop_moved,
    OrderQuantityReduced: EngineState._quantity_reduced,
    OrderPartiallyFilled: EngineState._filled,
    OrderFilled: EngineState._filled,
    OrderCanceled: EngineState._canceled,
    OrderExpired: EngineState._expired,
    OrderReplaced: EngineState._replaced,
    MarketQuoteObserved: EngineState._quote_observed,
    MarketBarObserved: EngineState._bar_observed,
    RiskDayStarted: EngineState._risk_day_started,
    RiskLimitBreached: EngineState._breached,
    RiskLimitCleared: EngineState._cleared,
    TradingStateChanged: EngineState._trading_state_changed,
}
