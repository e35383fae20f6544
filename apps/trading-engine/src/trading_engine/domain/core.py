"""The trading core: commands and market data in, events out.

Every decision reads ``EngineState`` and emits events; each event is applied to the state at
once (``_emit``), so the next decision sees it and the emitted list alone can rebuild the
state. The core is pure: time, ids, and the trading session of the asset's exchange are passed
in by the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import TypedDict
from uuid import UUID

from trader_common.contracts.system import TradingState
from trader_common.contracts.trade import (
    Liquidity,
    OrderClass,
    OrderLeg,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
)

from .assets import Asset, AssetRegistry
from .broker import BrokerReport, fill_id_for
from .commands import (
    TIF_ORDER_TYPES,
    CancelAllOrders,
    CancelOrder,
    ClosePosition,
    HaltTrading,
    ReplaceOrder,
    ResumeTrading,
    SubmitOrder,
)
from .costs import FeeModel, NoFees, NoSlippage, SlippageModel
from .errors import (
    ConfigurationError,
    InvalidCommandError,
    InvalidOrderError,
    TradingDomainError,
    UnknownOrderError,
)
from .events import (
    AccountOpened,
    AccountType,
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
from .numbers import HUNDRED, ONE, ZERO, ceil_to, cents, floor_to, is_multiple, nearest
from .orders import TERMINAL_STATUSES, Order, OrderTicket, can_transition, check_transition
from .records import record
from .risk import (
    SEVERITY,
    OrderRiskView,
    RiskContext,
    RiskLimits,
    money,
    post_trade_status,
    pre_trade_refusal,
    qty_text,
)
from .sessions import Session
from .state import EngineState, already_seen

S = OrderStatus
BUY = OrderSide.BUY
SELL = OrderSide.SELL
_IMMEDIATE = (TimeInForce.IOC, TimeInForce.FOK)


@dataclass(frozen=True, slots=True)
class AccountConfig:
    account_id: str = "paper"
    starting_cash: Decimal = Decimal(100_000)
    account_type: AccountType = AccountType.MARGIN
    margin_multiplier: Decimal = Decimal(2)
    shorting_enabled: bool = True

    def __post_init__(self) -> None:
        if not self.account_id:
            raise ConfigurationError("account_id must not be empty")
        if self.starting_cash < ZERO:
            raise ConfigurationError(f"starting_cash must not be negative: {self.starting_cash}")
        if self.margin_multiplier < ONE:
            raise ConfigurationError(
                f"margin_multiplier must be at least 1, got {self.margin_multiplier}"
            )
        if self.account_type is AccountType.CASH and self.shorting_enabled:
            raise ConfigurationError("a cash account cannot sell short: set shorting_enabled off")


@dataclass(frozen=True, slots=True)
class ExchangeConfig:
    """How the paper exchange fills.

    ``max_volume_share``: the share of one bar's volume that all orders together may fill in that
    bar (None: no cap). ``bar_timeframe``: the bars that drive fills and marks (others are
    ignored, so two timeframes of the same market never fill an order twice).
    ``quote_max_age``: how old the last quote may be for an order to fill on arrival.
    """

    slippage: SlippageModel = field(default_factory=NoSlippage)
    fees: FeeModel = field(default_factory=NoFees)
    max_volume_share: Decimal | None = None
    bar_timeframe: str = "1Min"
    quote_max_age: timedelta = timedelta(seconds=60)

    def __post_init__(self) -> None:
        share = self.max_volume_share
        if share is not None and not ZERO < share <= ONE:
            raise ConfigurationError(f"max_volume_share must be in (0, 1], got {share}")
        if self.quote_max_age <= timedelta(0):
            raise ConfigurationError("quote_max_age must be positive")


@record
class Outcome:
    """What a command did: the events it emitted, the order it concerns, and, when the order
    was refused, why. ``duplicate`` marks a repeated client order id (nothing new happened)."""

    events: list[DomainEvent]
    order_id: UUID | None = None
    rejected_reason: str | None = None
    duplicate: bool = False

    @property
    def accepted(self) -> bool:
        return self.order_id is not None and self.rejected_reason is None


@record
class ReportOutcome:
    """What a broker report did: the events it emitted and, when it changed nothing or not
    everything it said, why (stale, repeated, unknown order, ...)."""

    events: list[DomainEvent]
    order_id: UUID | None = None
    ignored: str | None = None


# Broker statuses that mean "working" when they answer a pending_new order.
_ACK_STATUSES = frozenset({S.NEW, S.ACCEPTED, S.HELD, S.ACCEPTED_FOR_BIDDING, S.PENDING_NEW})
_PRICE_STEP = Decimal("0.000001")  # derived (average) fill prices are kept to 6 decimals


class _OrderKeys(TypedDict):
    event_id: UUID
    ts_event: datetime
    ts_recorded: datetime
    order_id: UUID
    client_order_id: str
    strategy_id: str
    symbol: str


@dataclass(slots=True)
class _Sizing:
    price: Decimal | None
    qty: Decimal
    opening_qty: Decimal
    reduces_only: bool


class TradingCore:
    def __init__(
        self,
        *,
        assets: AssetRegistry,
        ids: Callable[[], UUID],
        exchange: ExchangeConfig | None = None,
        risk: RiskLimits | None = None,
        day_timezone: tzinfo = UTC,
        state: EngineState | None = None,
        external: bool = False,
    ) -> None:
        self.assets = assets
        # External execution: a broker matches the orders. The core still checks and records
        # them (born pending_new), never fills or expires them itself, and applies the broker's
        # reports (``apply_report``) as the same events.
        self.external = external
        self.exchange = exchange or ExchangeConfig()
        self.risk = risk or RiskLimits()
        self.state = state or EngineState(rate_memory=self.risk.rate_memory)
        self._ids = ids
        self._tz = day_timezone
        # The default cost models do nothing: skip their calls on the hot path.
        self._no_slippage = isinstance(self.exchange.slippage, NoSlippage)
        self._post_trade_rules = self.risk.has_post_trade_rules
        self._no_fees = isinstance(self.exchange.fees, NoFees)
        self._out: list[DomainEvent] = []
        self._now: datetime = datetime.min.replace(tzinfo=UTC)

    # -- plumbing ----------------------------------------------------------------------------

    def _begin(self, now: datetime) -> list[DomainEvent]:
        if now.tzinfo is None:
            raise TradingDomainError(f"time must be timezone-aware (UTC), got {now!r}")
        self._now = now
        self._out = []
        return self._out

    def _emit(self, event: DomainEvent) -> None:
        self.state.apply(event)
        self._out.append(event)

    def _order_keys(self, order: Order, ts: datetime) -> _OrderKeys:
        t = order.ticket
        return {
            "event_id": self._ids(),
            "ts_event": ts,
            "ts_recorded": self._now,
            "order_id": t.order_id,
            "client_order_id": t.client_order_id,
            "strategy_id": t.strategy_id,
            "symbol": t.symbol,
        }

    def _asset(self, symbol: str) -> Asset:
        asset = self.assets.get(symbol)
        if asset is None:
            raise TradingDomainError(f"unknown asset {symbol}")
        return asset

    def _find(self, order_id: UUID | None, client_order_id: str | None) -> Order:
        state = self.state
        if order_id is not None:
            order = state.orders.get(order_id)
            if order is None:
                raise UnknownOrderError(f"no order with id {order_id}")
            return order
        assert client_order_id is not None  # commands validate that one of the two is given
        found = state.order_by_client_id(client_order_id)
        if found is None:
            raise UnknownOrderError(f"no order with client_order_id {client_order_id!r}")
        return found

    # -- account ------------------------------------------------------------------------------

    def open_account(self, config: AccountConfig, now: datetime) -> list[DomainEvent]:
        out = self._begin(now)
        if self.state.account is not None:
            raise TradingDomainError(f"account {self.state.account.account_id} is already open")
        multiplier = ONE if config.account_type is AccountType.CASH else config.margin_multiplier
        self._emit(
            AccountOpened(
                event_id=self._ids(),
                ts_event=now,
                ts_recorded=now,
                account_id=config.account_id,
                account_type=config.account_type,
                starting_cash=config.starting_cash,
                margin_multiplier=multiplier,
                shorting_enabled=config.shorting_enabled,
            )
        )
        self._roll_day(now)
        return out

    # -- submit -------------------------------------------------------------------------------

    def submit(self, cmd: SubmitOrder, now: datetime, session: Session) -> Outcome:
        out = self._begin(now)
        return self._submit(cmd, now, session, out)

    def _submit(
        self, cmd: SubmitOrder, now: datetime, session: Session, out: list[DomainEvent]
    ) -> Outcome:
        state = self.state
        if cmd.client_order_id is not None:
            existing = state.order_by_client_id(cmd.client_order_id)
            if existing is not None:
                return _duplicate(existing, out)
        state.require_account()
        self._roll_day(now)
        tickets = self._tickets(cmd)
        main = tickets[0]
        asset = self.assets.get(cmd.symbol)
        sizing: _Sizing | None = None
        if asset is None:
            reason: str | None = (
                f"unknown asset {cmd.symbol}: it is not in the engine's asset registry"
            )
        else:
            reason = self._asset_refusal(cmd, asset, now, session)
            if reason is None:
                sizing = self._size(main, asset, cmd)
                reason = self._account_refusal(main, cmd, asset, sizing)
            if reason is None and sizing is not None:
                reason = self._risk_refusal(main, cmd, sizing, now, len(tickets), exclude=None)
        if self.external and cmd.order_class is not OrderClass.SIMPLE:
            reason = (
                f"{cmd.order_class.value} orders are not routed to the broker by this engine: "
                "submit simple orders"
            )
        if reason is not None or sizing is None or asset is None:
            text = reason or "refused"
            self._emit(
                OrderRejected(
                    event_id=self._ids(),
                    ts_event=now,
                    ts_recorded=now,
                    order_id=main.order_id,
                    client_order_id=main.client_order_id,
                    strategy_id=main.strategy_id,
                    symbol=main.symbol,
                    ticket=main,
                    reason=text,
                )
            )
            return Outcome(events=out, order_id=main.order_id, rejected_reason=text)
        self._accept(tickets, asset, sizing, now, session)
        if not self.external:
            self._match_on_arrival([state.orders[t.order_id] for t in tickets], session)
        return Outcome(events=out, order_id=main.order_id)

    def _tickets(self, cmd: SubmitOrder) -> list[OrderTicket]:
        """The order's ticket, then its children's (bracket, OTO) or its sibling's (OCO)."""
        order_id = self._ids()
        base = OrderTicket(
            order_id=order_id,
            client_order_id=cmd.client_order_id or str(order_id),
            strategy_id=cmd.strategy_id,
            symbol=cmd.symbol,
            side=cmd.side,
            order_type=cmd.order_type,
            time_in_force=cmd.time_in_force,
            order_class=cmd.order_class,
            qty=cmd.qty,
            notional=cmd.notional,
            limit_price=cmd.limit_price,
            stop_price=cmd.stop_price,
            trail_price=cmd.trail_price,
            trail_percent=cmd.trail_percent,
        )
        if cmd.order_class is OrderClass.SIMPLE:
            return [base]
        exit_side = cmd.side if cmd.order_class is OrderClass.OCO else _opposite(cmd.side)
        legs: list[OrderTicket] = []
        tp, sl = cmd.take_profit, cmd.stop_loss
        tp_id = self._ids() if tp is not None and cmd.order_class is not OrderClass.OCO else None
        sl_id = self._ids() if sl is not None else None
        if cmd.order_class is OrderClass.OCO:
            tp_id = order_id
        if tp is not None and cmd.order_class is not OrderClass.OCO:
            assert tp_id is not None
            legs.append(
                OrderTicket(
                    order_id=tp_id,
                    client_order_id=f"{base.client_order_id}-tp"[-128:],
                    strategy_id=cmd.strategy_id,
                    symbol=cmd.symbol,
                    side=exit_side,
                    order_type=OrderType.LIMIT,
                    time_in_force=cmd.time_in_force,
                    order_class=cmd.order_class,
                    qty=cmd.qty,
                    limit_price=tp.limit_price,
                    leg=OrderLeg.TAKE_PROFIT,
                    parent_id=order_id,
                    oco_sibling_id=sl_id,
                )
            )
        if sl is not None:
            assert sl_id is not None
            legs.append(
                OrderTicket(
                    order_id=sl_id,
                    client_order_id=f"{base.client_order_id}-sl"[-128:],
                    strategy_id=cmd.strategy_id,
                    symbol=cmd.symbol,
                    side=exit_side,
                    order_type=OrderType.STOP if sl.limit_price is None else OrderType.STOP_LIMIT,
                    time_in_force=cmd.time_in_force,
                    order_class=cmd.order_class,
                    qty=cmd.qty,
                    stop_price=sl.stop_price,
                    limit_price=sl.limit_price,
                    leg=OrderLeg.STOP_LOSS,
                    parent_id=order_id,
                    oco_sibling_id=tp_id,
                )
            )
        if cmd.order_class is OrderClass.OCO:
            main = replace(base, leg=OrderLeg.TAKE_PROFIT, oco_sibling_id=sl_id)
            return [main, *legs]
        return [replace(base, child_ids=tuple(leg.order_id for leg in legs)), *legs]

    def _asset_refusal(
        self, cmd: SubmitOrder, asset: Asset, now: datetime, session: Session
    ) -> str | None:
        symbol, tif = asset.symbol, cmd.time_in_force
        around_the_clock = asset.around_the_clock
        if around_the_clock and tif in (TimeInForce.DAY, TimeInForce.OPG, TimeInForce.CLS):
            return (
                f"{symbol} trades around the clock, so time in force {tif.value} has no session "
                "to refer to: use gtc, ioc or fok"
            )
        step = asset.qty_step
        qty, notional = cmd.qty, cmd.notional
        if qty is not None and not is_multiple(qty, step):
            if not asset.fractionable:
                return f"{symbol} is not fractionable: qty must be whole, got {qty_text(qty)}"
            return f"qty {qty_text(qty)} is finer than {symbol}'s increment {qty_text(step)}"
        # A whole quantity (already checked against a step of one) is not fractional.
        fractional = notional is not None or (
            qty is not None and step is not ONE and not is_multiple(qty, ONE)
        )
        if notional is not None and not asset.fractionable:
            return f"{symbol} is not fractionable: notional orders need a fractionable asset"
        if fractional and not asset.is_crypto:
            if tif is not TimeInForce.DAY:
                return f"fractional and notional equity orders must be day orders, not {tif.value}"
            if cmd.order_class is not OrderClass.SIMPLE:
                return f"{cmd.order_class.value} orders take whole quantities of {symbol}"
        if _has_prices(cmd):  # a plain market order has none: skip building the list
            reason = _tick_refusal(cmd, asset)
            if reason is not None:
                return reason
        if not around_the_clock:
            if tif is TimeInForce.OPG and session.is_open(now):
                return (
                    f"opg orders are taken only before the opening auction; {asset.calendar} "
                    f"is open until {session.close.isoformat()}"
                )
            if tif in _IMMEDIATE and not session.is_open(now):
                return (
                    f"{tif.value} orders need an open market; {asset.calendar} opens "
                    f"{session.open.isoformat()}"
                )
        return None

    def _touch(self, symbol: str, buy: bool) -> Decimal | None:
        """The price a market order would get now: the last quote's ask (bid), else the last
        bar's close."""
        quote = self.state.last_quote.get(symbol)
        if quote is not None:
            return quote.ask if buy else quote.bid
        bar = self.state.last_bar.get(symbol)
        return None if bar is None else bar.close

    def _reference_price(self, symbol: str) -> Decimal | None:
        quote = self.state.last_quote.get(symbol)
        if quote is not None:
            return quote.mid
        bar = self.state.last_bar.get(symbol)
        return None if bar is None else bar.close

    def _estimate_price(self, ticket: OrderTicket) -> Decimal | None:
        buy = ticket.side is BUY
        kind = ticket.order_type
        if kind in (OrderType.LIMIT, OrderType.STOP_LIMIT):
            return ticket.limit_price
        touch = self._touch(ticket.symbol, buy)
        if kind is OrderType.STOP:
            stop = ticket.stop_price
            assert stop is not None
            if touch is None:
                return stop
            return max(stop, touch) if buy else min(stop, touch)
        return touch

    def _size(
        self,
        ticket: OrderTicket,
        asset: Asset,
        cmd: SubmitOrder | None,
        exclude: Order | None = None,
    ) -> _Sizing:
        """Estimate price and quantity, and how much of the order grows exposure, counting the
        working orders on the same side (they may fill first)."""
        state = self.state
        price = self._estimate_price(ticket)
        if ticket.qty is not None:
            qty = ticket.qty
        elif ticket.notional is not None and price:
            qty = floor_to(ticket.notional / price, asset.qty_step)
        else:
            qty = ZERO
        buy = ticket.side is BUY
        position = state.require_account().position_qty(ticket.symbol)
        book = state.open_buy_qty if buy else state.open_sell_qty
        exits = state.exit_buy_qty if buy else state.exit_sell_qty
        same_side = book.get(ticket.symbol, ZERO) + exits.get(ticket.symbol, ZERO)
        if exclude is not None and exclude.is_buy == buy:
            same_side -= exclude.counted_qty
        # What this order can close: the opposite position less what other orders on the same
        # side (working orders and protective exits) would close first.
        coverable = max(ZERO, (-position if buy else position) - same_side)
        opening = max(ZERO, qty - coverable)
        if ticket.order_class in (OrderClass.BRACKET, OrderClass.OTO):
            reduces_only = False  # its children re-open what the entry closes
        else:
            reduces_only = opening == ZERO and qty > ZERO
        return _Sizing(price, qty, opening, reduces_only)

    def _account_refusal(
        self, ticket: OrderTicket, cmd: SubmitOrder | None, asset: Asset, sizing: _Sizing
    ) -> str | None:
        state = self.state
        account = state.require_account()
        symbol = ticket.symbol
        needs_price = ticket.order_type in (OrderType.MARKET, OrderType.TRAILING_STOP)
        if sizing.price is None and (needs_price or ticket.notional is not None):
            return f"no price for {symbol} yet (no quote or bar seen): cannot size the order"
        if ticket.notional is not None and sizing.price is not None and sizing.qty <= ZERO:
            # It could never fill, yet would stay open (and a gtc order forever).
            return (
                f"notional {qty_text(ticket.notional)} buys less than {symbol}'s increment "
                f"{qty_text(asset.qty_step)} at {qty_text(sizing.price)}"
            )
        position = account.position_qty(symbol)
        if ticket.side is SELL and sizing.opening_qty > ZERO:
            held = state.open_sell_qty.get(symbol, ZERO)
            exits = state.exit_sell_qty.get(symbol, ZERO)
            where = f"position {qty_text(position)}, {qty_text(held)} already on sell orders"
            if exits:
                where += f", {qty_text(exits)} held by exit orders"
            if not account.can_short:
                kind = "a cash account" if not account.is_margin else "this account"
                return (
                    f"this sell of {qty_text(sizing.qty)} {symbol} would sell short, which "
                    f"{kind} does not allow ({where})"
                )
            if not asset.shortable:
                return f"{symbol} is not shortable ({where})"
            if not asset.is_crypto and not is_multiple(sizing.opening_qty, ONE):
                return f"short sales of {symbol} must be whole shares ({where})"
        if cmd is not None and cmd.order_class is OrderClass.OCO and not sizing.reduces_only:
            return (
                f"an oco order exits a position: {qty_text(sizing.qty)} {symbol} is more than "
                f"the position of {qty_text(position)} can give"
            )
        if sizing.opening_qty > ZERO and sizing.price is not None:
            required = sizing.opening_qty * sizing.price
            if account.account_type is AccountType.CASH:
                required += self.exchange.fees.fee(
                    asset=asset,
                    side=ticket.side,
                    qty=sizing.opening_qty,
                    price=sizing.price,
                    gross=required,
                    liquidity=Liquidity.TAKER,
                )
            available = account.buying_power(state.reserved)
            if required > available:
                return (
                    f"insufficient buying power: this order needs {money(required)}, "
                    f"{money(available)} is available"
                )
        return None

    def _risk_refusal(
        self,
        ticket: OrderTicket,
        cmd: SubmitOrder | None,
        sizing: _Sizing,
        now: datetime,
        new_orders: int,
        exclude: Order | None,
    ) -> str | None:
        state = self.state
        account = state.require_account()
        symbol = ticket.symbol
        buy = ticket.side is BUY
        book = state.open_buy_qty if buy else state.open_sell_qty
        same_side = book.get(symbol, ZERO)
        reserved = state.reserved
        open_orders = state.open_order_count
        if exclude is not None:
            if exclude.is_buy == buy:
                same_side -= exclude.counted_qty
            reserved -= exclude.reserved
            open_orders -= 1
        notional = ticket.notional
        if notional is None and sizing.price is not None:
            notional = sizing.qty * sizing.price
        if ticket.leg is not None or (cmd is not None and cmd.order_class is OrderClass.OCO):
            limit_price = stop_price = None  # exits sit away from the market: no price collar
        else:
            limit_price, stop_price = ticket.limit_price, ticket.stop_price
        view = OrderRiskView(
            symbol=symbol,
            buy=buy,
            qty=sizing.qty,
            price=sizing.price,
            notional=notional,
            opening_qty=sizing.opening_qty,
            reduces_only=sizing.reduces_only,
            limit_price=limit_price,
            stop_price=stop_price,
            new_orders=new_orders,
            counts_for_rate=exclude is None,
        )
        # The reference price only serves the price collar, on limit and stop prices.
        collared = limit_price is not None or stop_price is not None
        ctx = RiskContext(
            trading_state=state.trading_state,
            position_qty=account.position_qty(symbol),
            open_same_side_qty=same_side,
            equity=account.cash + account.market_value,
            gross_exposure=account.gross_exposure,
            reserved=reserved,
            open_orders=open_orders,
            recent_accepts=state.recent_accepts,
            reference_price=self._reference_price(symbol) if collared else None,
            now=now,
        )
        return pre_trade_refusal(self.risk, view, ctx)

    def _accept(
        self,
        tickets: list[OrderTicket],
        asset: Asset,
        sizing: _Sizing,
        now: datetime,
        session: Session,
        *,
        held_status: bool = False,
        water_mark: Decimal | None = None,
    ) -> None:
        working = S.NEW if session.is_open(now) else S.ACCEPTED
        for index, ticket in enumerate(tickets):
            is_child = ticket.parent_id is not None and ticket.order_class is not OrderClass.OCO
            status = S.HELD if (is_child or held_status) else working
            expires_at, auction_at = self._times(ticket.time_in_force, asset, session)
            price = sizing.price if index == 0 else self._estimate_price(ticket)
            mark = water_mark
            if ticket.order_type is OrderType.TRAILING_STOP and mark is None:
                mark = self._fresh_touch(ticket.symbol, ticket.side is SELL, now)
            if self.external:
                # The broker works, triggers and expires it; until it answers it is pending_new.
                status, expires_at, auction_at, mark = S.PENDING_NEW, None, None, None
            self._emit(
                OrderAccepted(
                    event_id=self._ids(),
                    ts_event=now,
                    ts_recorded=self._now,
                    order_id=ticket.order_id,
                    client_order_id=ticket.client_order_id,
                    strategy_id=ticket.strategy_id,
                    symbol=ticket.symbol,
                    ticket=ticket,
                    status=status,
                    expires_at=expires_at,
                    auction_at=auction_at,
                    water_mark=mark,
                    estimate_price=price or ZERO,
                    opening_qty=sizing.opening_qty if index == 0 else ZERO,
                )
            )

    def _times(
        self, tif: TimeInForce, asset: Asset, session: Session
    ) -> tuple[datetime | None, datetime | None]:
        if asset.around_the_clock:
            return None, None
        if tif in (TimeInForce.DAY, TimeInForce.IOC, TimeInForce.FOK):
            return session.close, None  # an unevaluated ioc/fok never outlives the session
        if tif is TimeInForce.OPG:
            return session.close, session.open
        if tif is TimeInForce.CLS:
            return session.close, session.close
        return None, None

    def _fresh_touch(self, symbol: str, bid_side: bool, now: datetime) -> Decimal | None:
        quote = self.state.last_quote.get(symbol)
        if quote is not None and now - quote.ts <= self.exchange.quote_max_age:
            return quote.bid if bid_side else quote.ask
        bar = self.state.last_bar.get(symbol)
        return None if bar is None else bar.close

    def _fresh_quote(self, symbol: str, now: datetime) -> Quote | None:
        quote = self.state.last_quote.get(symbol)
        if quote is not None and now - quote.ts <= self.exchange.quote_max_age:
            return quote
        return None

    def _match_on_arrival(self, orders: list[Order], session: Session) -> None:
        """Fill what is marketable against the current quote at once (taker)."""
        now = self._now
        if not session.is_open(now):
            return
        for order in orders:
            if not order.is_fillable:
                continue
            quote = self._fresh_quote(order.ticket.symbol, now)
            if quote is not None:
                self._match_quote(order, quote, now, session, arriving=True)

    # -- replace, cancel, close -------------------------------------------------------------

    def replace_order(self, cmd: ReplaceOrder, now: datetime, session: Session) -> Outcome:
        out = self._begin(now)
        state = self.state
        old = self._find(cmd.order_id, None)
        if cmd.client_order_id is not None:
            existing = state.order_by_client_id(cmd.client_order_id)
            if existing is not None:
                return _duplicate(existing, out)
        check_transition(old.order_id, old.status, S.REPLACED)
        t = old.ticket
        kind = t.order_type
        if cmd.limit_price is not None and kind not in (OrderType.LIMIT, OrderType.STOP_LIMIT):
            raise InvalidOrderError(f"a {kind.value} order has no limit_price to replace")
        if cmd.stop_price is not None and kind not in (OrderType.STOP, OrderType.STOP_LIMIT):
            raise InvalidOrderError(f"a {kind.value} order has no stop_price to replace")
        trail = cmd.trail_price is not None or cmd.trail_percent is not None
        if trail and kind is not OrderType.TRAILING_STOP:
            raise InvalidOrderError(f"a {kind.value} order has no trail to replace")
        if t.notional is not None:
            raise InvalidOrderError("notional orders cannot be replaced: cancel and submit anew")
        tif = cmd.time_in_force or t.time_in_force
        if kind not in TIF_ORDER_TYPES[tif]:
            raise InvalidOrderError(f"time_in_force {tif.value} does not take {kind.value} orders")
        if t.order_class is not OrderClass.SIMPLE and tif not in (TimeInForce.DAY, TimeInForce.GTC):
            raise InvalidOrderError(
                f"{t.order_class.value} orders take time_in_force day or gtc, not {tif.value}"
            )
        current_total = old.qty if old.qty is not None else ZERO
        total = cmd.qty if cmd.qty is not None else current_total
        if total <= old.filled_qty:
            raise InvalidOrderError(
                f"new quantity {qty_text(total)} must be above the {qty_text(old.filled_qty)} "
                "already filled"
            )
        new_id = self._ids()
        trail_price, trail_percent = t.trail_price, t.trail_percent
        if cmd.trail_price is not None:
            trail_price, trail_percent = cmd.trail_price, None
        elif cmd.trail_percent is not None:
            trail_price, trail_percent = None, cmd.trail_percent
        ticket = replace(
            t,
            order_id=new_id,
            client_order_id=cmd.client_order_id or str(new_id),
            time_in_force=tif,
            qty=total - old.filled_qty,
            limit_price=cmd.limit_price if cmd.limit_price is not None else t.limit_price,
            stop_price=cmd.stop_price if cmd.stop_price is not None else t.stop_price,
            trail_price=trail_price,
            trail_percent=trail_percent,
            parent_id=old.parent_id,
            oco_sibling_id=old.oco_sibling_id,
            child_ids=old.child_ids,
            replaces=old.order_id,
        )
        asset = self._asset(t.symbol)
        probe = SubmitOrder(
            symbol=t.symbol,
            side=t.side,
            order_type=kind,
            time_in_force=tif,
            qty=ticket.qty,
            limit_price=ticket.limit_price,
            stop_price=ticket.stop_price,
            trail_price=ticket.trail_price,
            trail_percent=ticket.trail_percent,
        )
        reason = self._asset_refusal(probe, asset, now, session)
        sizing = self._size(ticket, asset, None, exclude=old)
        if t.leg is not None:
            sizing.opening_qty = ZERO
            sizing.reduces_only = True
        if reason is None:
            reason = self._account_refusal(ticket, None, asset, sizing)
        if reason is None:
            reason = self._risk_refusal(ticket, None, sizing, now, 1, exclude=old)
        if reason is not None:
            return Outcome(
                events=out, order_id=old.order_id, rejected_reason=f"replace refused: {reason}"
            )
        self._roll_day(now)
        if self.external:
            # The broker replaces it: the new order waits (pending_new, ``replaces`` = old) and
            # the old one ends when the broker reports it replaced.
            self._accept([ticket], asset, sizing, now, session)
            return Outcome(events=out, order_id=new_id)
        self._emit(
            OrderReplaced(
                **self._order_keys(old, now),
                replaced_by=new_id,
                filled_qty=old.filled_qty,
            )
        )
        self._accept(
            [ticket],
            asset,
            sizing,
            now,
            session,
            held_status=old.status is S.HELD,
            water_mark=old.water_mark,
        )
        self._match_on_arrival([state.orders[new_id]], session)
        return Outcome(events=out, order_id=new_id)

    def cancel_order(self, cmd: CancelOrder, now: datetime) -> Outcome:
        out = self._begin(now)
        order = self._find(cmd.order_id, cmd.client_order_id)
        if order.status is S.CANCELED or (self.external and order.cancel_requested):
            return Outcome(
                events=out, order_id=order.order_id, duplicate=True
            )  # a repeated cancel does nothing
        check_transition(
            order.order_id, order.status, S.PENDING_CANCEL if self.external else S.CANCELED
        )
        self._cancel(order, cmd.reason, now)
        return Outcome(events=out, order_id=order.order_id)

    def cancel_all(self, cmd: CancelAllOrders, now: datetime) -> Outcome:
        out = self._begin(now)
        self._cancel_symbol_orders(cmd.symbol, cmd.reason, now)
        return Outcome(events=out)

    def _cancel_symbol_orders(self, symbol: str | None, reason: str, now: datetime) -> None:
        state = self.state
        books = [state.working.get(symbol, {})] if symbol else list(state.working.values())
        for book in books:
            for order in list(book.values()):
                if order.is_open:
                    self._cancel(order, reason, now)

    def close_position(self, cmd: ClosePosition, now: datetime, session: Session) -> Outcome:
        out = self._begin(now)
        state = self.state
        if cmd.client_order_id is not None:
            existing = state.order_by_client_id(cmd.client_order_id)
            if existing is not None:
                return _duplicate(existing, out)
        position = state.require_account().position_qty(cmd.symbol)
        if position == ZERO:
            return Outcome(
                events=out,
                order_id=None,
                rejected_reason=f"no open position in {cmd.symbol} to close",
            )
        held = abs(position)
        qty = cmd.qty if cmd.qty is not None else held
        if qty > held:
            raise InvalidCommandError(
                f"cannot close {qty_text(qty)} {cmd.symbol}: the position is {qty_text(held)}"
            )
        if state.trading_state is TradingState.HALTED:
            return Outcome(
                events=out,
                order_id=None,
                rejected_reason="trading is halted: no orders until an operator resumes",
            )
        if cmd.cancel_orders:
            self._cancel_symbol_orders(cmd.symbol, f"closing the {cmd.symbol} position", now)
        asset = self.assets.get(cmd.symbol)
        tif = TimeInForce.GTC if asset is not None and asset.around_the_clock else TimeInForce.DAY
        order = SubmitOrder(
            symbol=cmd.symbol,
            side=SELL if position > ZERO else BUY,
            order_type=OrderType.MARKET,
            time_in_force=tif,
            qty=qty,
            client_order_id=cmd.client_order_id,
            strategy_id=cmd.strategy_id,
        )
        return self._submit(order, now, session, out)

    def _cancel(self, order: Order, reason: str, ts: datetime) -> None:
        if self.external:
            self._request_cancel(order, reason, ts)
            return
        self._emit(
            OrderCanceled(
                **self._order_keys(order, ts),
                reason=reason,
                filled_qty=order.filled_qty,
            )
        )
        self._after_done(order, ts, "canceled")

    def _expire(self, order: Order, reason: str, ts: datetime) -> None:
        self._emit(
            OrderExpired(
                **self._order_keys(order, ts),
                reason=reason,
                filled_qty=order.filled_qty,
            )
        )
        self._after_done(order, ts, "expired")

    def _after_done(self, order: Order, ts: datetime, how: str) -> None:
        """A canceled or expired order takes its family along: held children protect what the
        parent filled (or go, if nothing did); an OCO sibling goes."""
        state = self.state
        if order.child_ids:
            if order.filled_qty > ZERO:
                self._activate_children(order, ts)
            else:
                for child_id in order.child_ids:
                    child = state.orders[child_id]
                    if child.is_open:
                        self._cancel(child, f"parent order {how}", ts)
        sibling_id = order.oco_sibling_id
        if sibling_id is not None:
            sibling = state.orders[sibling_id]
            if sibling.is_open:
                if sibling.expires_at is not None and sibling.expires_at <= ts:
                    self._expire(sibling, f"oco sibling {how}", ts)  # its own time is up too
                else:
                    self._cancel(sibling, f"oco sibling {how}", ts)

    def _activate_children(self, parent: Order, ts: datetime) -> None:
        for child_id in parent.child_ids:
            child = self.state.orders[child_id]
            if child.status is not S.HELD:
                continue
            self._emit(
                OrderActivated(
                    **self._order_keys(child, ts),
                    status=S.NEW,
                    qty=parent.filled_qty,
                )
            )

    # -- trading state ------------------------------------------------------------------------

    def resume(self, cmd: ResumeTrading, now: datetime) -> Outcome:
        out = self._begin(now)
        self._change_trading_state(cmd.target, cmd.reason, cmd.operator, now)
        return Outcome(events=out)

    def halt(self, cmd: HaltTrading, now: datetime) -> Outcome:
        out = self._begin(now)
        self._change_trading_state(cmd.target, cmd.reason, cmd.operator, now)
        return Outcome(events=out)

    def _change_trading_state(
        self, target: TradingState, reason: str, by: str, ts: datetime
    ) -> None:
        state = self.state
        previous = state.trading_state
        if target is previous:
            return
        self._emit(
            TradingStateChanged(
                event_id=self._ids(),
                ts_event=ts,
                ts_recorded=self._now,
                previous=previous,
                current=target,
                reason=reason,
                changed_by=by,
            )
        )
        if SEVERITY[target] > SEVERITY[previous]:
            self._cancel_growing_orders(f"trading is {target.value}: {reason}", ts)

    def _cancel_growing_orders(self, reason: str, ts: datetime) -> None:
        """Working simple orders and entries that would grow a position go; exits stay."""
        account = self.state.require_account()
        for book in list(self.state.working.values()):
            for order in list(book.values()):
                if not order.is_open or order.is_leg:
                    continue
                position = account.position_qty(order.symbol)
                grows = position >= ZERO if order.is_buy else position <= ZERO
                if grows or order.child_ids:
                    self._cancel(order, reason, ts)

    # -- market data --------------------------------------------------------------------------

    def on_quote(self, quote: Quote, session: Session, now: datetime) -> list[DomainEvent]:
        out = self._begin(now)
        state = self.state
        if already_seen(state.quotes_seen, quote.symbol, quote.ts, quote.event_id):
            return out
        if quote.symbol not in self.assets:
            return out  # not ours to trade: nothing to mark or fill
        self._advance(quote.ts)
        self._emit(
            MarketQuoteObserved(
                event_id=self._ids(),
                ts_event=quote.ts,
                ts_recorded=now,
                symbol=quote.symbol,
                bid=quote.bid,
                ask=quote.ask,
                bid_size=quote.bid_size,
                ask_size=quote.ask_size,
                source_event_id=quote.event_id,
            )
        )
        self._after_mark(quote.symbol, quote.ts)
        if session.is_open(quote.ts) and not self.external:
            book = state.working.get(quote.symbol)
            if book:
                for order in list(book.values()):
                    if order.is_fillable:
                        self._match_quote(order, quote, quote.ts, session, arriving=False)
        return out

    def on_bar(self, bar: Bar, session: Session, now: datetime) -> list[DomainEvent]:
        out = self._begin(now)
        state = self.state
        if bar.timeframe != self.exchange.bar_timeframe or bar.symbol not in self.assets:
            return out
        if already_seen(state.bars_seen, bar.symbol, bar.ts_close, bar.event_id):
            return out
        self._advance(bar.ts_open)
        # Orders placed before this bar closed are eligible (an order placed after the last
        # bar fills at this bar's open); legs that start working during this bar are not.
        book = state.working.get(bar.symbol, {})
        eligible = [o for o in book.values() if o.is_fillable and o.created_at < bar.ts_close]
        self._emit(
            MarketBarObserved(
                event_id=self._ids(),
                ts_event=bar.ts_close,
                ts_recorded=now,
                symbol=bar.symbol,
                timeframe=bar.timeframe,
                ts_open=bar.ts_open,
                open=bar.open,
                high=bar.high,
                low=bar.low,
                close=bar.close,
                volume=bar.volume,
                source_event_id=bar.event_id,
            )
        )
        self._after_mark(bar.symbol, bar.ts_close)
        in_session = bar.ts_open < session.close and bar.ts_close > session.open
        if in_session and eligible and not self.external:
            asset = self._asset(bar.symbol)
            share = self.exchange.max_volume_share
            budget = None if share is None else [floor_to(bar.volume * share, asset.qty_step)]
            for order in eligible:
                if order.is_fillable:
                    self._match_bar(order, bar, budget, session)
        self._advance(bar.ts_close)
        return out

    def advance_clock(self, ts: datetime, now: datetime) -> list[DomainEvent]:
        """Let time pass to ``ts``: day orders expire at their session close, cls orders fill
        at the close, a new risk day starts."""
        out = self._begin(now)
        self._advance(ts)
        return out

    def _advance(self, ts: datetime) -> None:
        state = self.state
        if state.account is None:
            return
        self._roll_day(ts)
        # Expiring an order removes it from its bucket (in apply), and the last one removes
        # the bucket's time: the loop reads the index, it never edits it.
        times = state.expiry_times
        while times and times[0] <= ts:
            expires_at = times[0]
            for order_id in list(state.expiring[expires_at]):
                self._expire_at(state.orders[order_id], expires_at)
            if times and times[0] == expires_at:
                raise TradingDomainError(f"orders due at {expires_at} did not end")

    def _expire_at(self, order: Order, expires_at: datetime) -> None:
        if not order.is_open or order.expires_at != expires_at:
            return
        tif = order.time_in_force
        if tif is TimeInForce.CLS and order.is_fillable:
            self._fill_at_close_from_quote(order, expires_at)
            if not order.is_open:
                return
            reason = "cls order found no closing price within its limit"
        elif tif is TimeInForce.OPG:
            reason = "opg order did not fill at the open"
        else:
            reason = f"{tif.value} order expired at the session close {expires_at.isoformat()}"
        self._expire(order, reason, expires_at)

    def _fill_at_close_from_quote(self, order: Order, close: datetime) -> None:
        quote = self.state.last_quote.get(order.symbol)
        if quote is None or quote.ts >= close or close - quote.ts > self.exchange.quote_max_age:
            return
        buy = order.is_buy
        touch = quote.ask if buy else quote.bid
        limit = order.ticket.limit_price
        if limit is not None and (touch > limit if buy else touch < limit):
            return
        self._fill(
            order,
            reference=touch,
            low=quote.bid,
            high=quote.ask,
            limit=limit,
            volume=None,
            budget=None,
            liquidity=Liquidity.TAKER,
            ts=close,
        )

    def _roll_day(self, ts: datetime) -> None:
        state = self.state
        ends = state.day_ends_at
        if ends is not None and ts < ends:
            return
        account = state.require_account()
        day = ts.astimezone(self._tz).date()
        next_midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=self._tz)
        self._emit(
            RiskDayStarted(
                event_id=self._ids(),
                ts_event=ts,
                ts_recorded=self._now,
                day=day,
                start_equity=account.equity,
                ends_at=next_midnight.astimezone(UTC),
            )
        )
        for rule in ("daily_loss",):
            if rule in state.breached_rules:
                self._emit(
                    RiskLimitCleared(
                        event_id=self._ids(),
                        ts_event=ts,
                        ts_recorded=self._now,
                        rule=rule,
                        detail=f"a new risk day began on {day.isoformat()}",
                    )
                )

    # -- matching -----------------------------------------------------------------------------

    def _match_quote(
        self, order: Order, quote: Quote, ts: datetime, session: Session, *, arriving: bool
    ) -> None:
        t = order.ticket
        buy = order.is_buy
        tif = t.time_in_force
        if tif is TimeInForce.CLS:
            return  # fills at the close (advance_clock), never during the session
        touch = quote.ask if buy else quote.bid
        limit = t.limit_price
        if tif is TimeInForce.OPG:
            if order.auction_at is None or ts < order.auction_at:
                return
            if limit is None or (touch <= limit if buy else touch >= limit):
                self._fill(
                    order,
                    reference=touch,
                    low=quote.bid,
                    high=quote.ask,
                    limit=limit,
                    volume=None,
                    budget=None,
                    liquidity=Liquidity.TAKER,
                    ts=ts,
                )
            if order.is_open:
                self._expire(order, "opg order did not fill at the open", ts)
            return
        kind = t.order_type
        triggered_now = False
        if kind is OrderType.TRAILING_STOP:
            if not order.triggered:
                self._trail(order, quote.bid if not buy else quote.ask, ts)
                stop = self._trail_stop(order)
                if stop is None or (touch < stop if buy else touch > stop):
                    return
                self._trigger(order, touch, ts)
                triggered_now = True
            limit = None
        elif kind in (OrderType.STOP, OrderType.STOP_LIMIT) and not order.triggered:
            stop = t.stop_price
            assert stop is not None
            if touch < stop if buy else touch > stop:
                self._end_immediate(order, ts, "not triggered on arrival")
                return
            self._trigger(order, touch, ts)
            triggered_now = True
        if limit is not None and (touch > limit if buy else touch < limit):
            self._end_immediate(order, ts, "not marketable on arrival")
            return
        resting_limit = kind in (OrderType.LIMIT, OrderType.STOP_LIMIT) and not triggered_now
        self._fill(
            order,
            reference=touch,
            low=quote.bid,
            high=quote.ask,
            limit=limit,
            volume=None,
            budget=None,
            liquidity=Liquidity.MAKER if resting_limit and not arriving else Liquidity.TAKER,
            ts=ts,
        )
        self._end_immediate(order, ts, "unfilled remainder canceled")

    def _match_bar(
        self, order: Order, bar: Bar, budget: list[Decimal] | None, session: Session
    ) -> None:
        t = order.ticket
        buy = order.is_buy
        tif = t.time_in_force
        ts = bar.ts_close
        o, h, low, c = bar.open, bar.high, bar.low, bar.close
        limit = t.limit_price
        if tif is TimeInForce.CLS:
            close_at = order.auction_at
            at_close = close_at is not None and bar.ts_open < close_at <= bar.ts_close
            if at_close and (limit is None or (c <= limit if buy else c >= limit)):
                self._fill_bar(order, bar, c, limit, budget, Liquidity.TAKER, session)
            return
        if tif is TimeInForce.OPG:
            if order.auction_at is None or bar.ts_close <= order.auction_at:
                return
            if limit is None or (o <= limit if buy else o >= limit):
                self._fill_bar(order, bar, o, limit, budget, Liquidity.TAKER, session)
            if order.is_open:
                self._expire(order, "opg order did not fill at the open", ts)
            return
        kind = t.order_type
        reference: Decimal | None = None
        liquidity = Liquidity.TAKER
        if kind is OrderType.MARKET or (kind is OrderType.STOP and order.triggered):
            reference = o
        elif kind is OrderType.TRAILING_STOP:
            if order.triggered:
                reference = o
            else:
                stop = self._trail_stop(order)
                if stop is not None and (o >= stop if buy else o <= stop):
                    reference = o  # gapped through the stop
                elif stop is not None and (h >= stop if buy else low <= stop):
                    reference = stop
                if reference is None:
                    # The bar's extreme moves the mark only after the trigger check: within a
                    # bar we cannot tell whether the extreme came before the reversal.
                    self._trail(order, low if buy else h, ts)
                    self._end_immediate(order, ts, "not triggered")
                    return
                self._trigger(order, reference, ts)
        elif kind is OrderType.LIMIT or (kind is OrderType.STOP_LIMIT and order.triggered):
            assert limit is not None
            reference = _limit_reference(buy, o, h, low, limit)
            liquidity = Liquidity.MAKER
        elif kind in (OrderType.STOP, OrderType.STOP_LIMIT):
            stop = t.stop_price
            assert stop is not None
            if o >= stop if buy else o <= stop:
                trigger = o
            elif h >= stop if buy else low <= stop:
                trigger = stop
            else:
                self._end_immediate(order, ts, "not triggered")
                return
            self._trigger(order, trigger, ts)
            if kind is OrderType.STOP:
                reference = trigger
            else:
                assert limit is not None
                if trigger == o:
                    # Triggered at the open: the whole bar came after the trigger.
                    reference = _limit_reference(buy, o, h, low, limit)
                elif trigger <= limit if buy else trigger >= limit:
                    reference = trigger
                # Else only what follows the trigger could fill the limit, and a bar does not
                # say what that was: the order rests as a limit order from the next bar.
        if reference is None:
            self._end_immediate(order, ts, "not marketable")
            return
        self._fill_bar(order, bar, reference, limit, budget, liquidity, session)
        self._end_immediate(order, ts, "unfilled remainder canceled")

    def _fill_bar(
        self,
        order: Order,
        bar: Bar,
        reference: Decimal,
        limit: Decimal | None,
        budget: list[Decimal] | None,
        liquidity: Liquidity,
        session: Session,
    ) -> None:
        if order.order_type is OrderType.TRAILING_STOP or (
            order.order_type is OrderType.STOP and order.triggered
        ):
            limit = None
        self._fill(
            order,
            reference=reference,
            low=bar.low,
            high=bar.high,
            limit=limit,
            volume=bar.volume,
            budget=budget,
            liquidity=liquidity,
            ts=bar.ts_close,
        )

    def _end_immediate(self, order: Order, ts: datetime, why: str) -> None:
        """An ioc/fok order gets one look at the market; what did not fill then is canceled."""
        if order.ticket.time_in_force in _IMMEDIATE and order.is_open:
            self._cancel(order, f"{order.time_in_force.value}: {why}", ts)

    def _trigger(self, order: Order, price: Decimal, ts: datetime) -> None:
        self._emit(
            OrderTriggered(
                **self._order_keys(order, ts),
                trigger_price=price,
            )
        )

    def _trail(self, order: Order, price: Decimal, ts: datetime) -> None:
        """Move a trailing stop's water mark: up with the market for a sell, down for a buy."""
        mark = order.water_mark
        buy = order.is_buy
        if mark is not None and (price >= mark if buy else price <= mark):
            return
        asset = self._asset(order.symbol)
        stop = _trail_stop_from(order.ticket, price, buy, asset)
        self._emit(
            TrailingStopMoved(
                **self._order_keys(order, ts),
                water_mark=price,
                stop_price=stop,
            )
        )

    def _trail_stop(self, order: Order) -> Decimal | None:
        mark = order.water_mark
        if mark is None:
            return None
        return _trail_stop_from(order.ticket, mark, order.is_buy, self._asset(order.symbol))

    def _fill(
        self,
        order: Order,
        *,
        reference: Decimal,
        low: Decimal,
        high: Decimal,
        limit: Decimal | None,
        volume: Decimal | None,
        budget: list[Decimal] | None,
        liquidity: Liquidity,
        ts: datetime,
    ) -> None:
        """Fill what can fill at ``reference`` (plus slippage), never outside [low, high] nor
        through ``limit``; capped by the bar's volume budget and the account's short rules."""
        account = self.state.require_account()
        ticket = order.ticket
        symbol = ticket.symbol
        asset = self._asset(symbol)
        step = asset.qty_step
        side = ticket.side
        buy = side is BUY
        order_qty = order.qty
        notional_order = order_qty is None
        if notional_order:
            want = floor_to(order.remaining_notional / reference, step)
        else:
            assert order_qty is not None
            want = order_qty - order.filled_qty
        if self._no_slippage:
            raw = reference
        else:
            raw = self.exchange.slippage.adjust(side=side, price=reference, qty=want, volume=volume)
        if raw == reference:
            price = reference  # every caller passes a reference inside the market and the limit
        else:
            tick = asset.tick(raw)
            price = ceil_to(raw, tick) if buy else floor_to(raw, tick)
            ceiling = high if limit is None or not buy else min(high, limit)
            floor = low if limit is None or buy else max(low, limit)
            price = min(max(price, floor), ceiling)
        if notional_order:
            want = floor_to(order.remaining_notional / price, step)
        qty = want
        capped_by_short_rule = False
        if not buy and not (account.can_short and asset.shortable):
            long_qty = max(ZERO, account.position_qty(symbol))
            if long_qty < qty:
                qty = long_qty
                capped_by_short_rule = True
        if budget is not None:
            qty = min(qty, floor_to(budget[0], step))
        if qty <= ZERO:
            if capped_by_short_rule:
                self._cancel(order, "nothing left to sell without selling short", ts)
            return
        if ticket.time_in_force is TimeInForce.FOK and qty < want:
            self._cancel(
                order, f"fok: only {qty_text(qty)} of {qty_text(want)} could fill at once", ts
            )
            return
        if budget is not None:
            budget[0] -= qty
        gross = cents(qty * price)
        fee = (
            ZERO
            if self._no_fees
            else cents(
                self.exchange.fees.fee(
                    asset=asset, side=side, qty=qty, price=price, gross=gross, liquidity=liquidity
                )
            )
        )
        filled = order.filled_qty + qty
        notional_after = order.filled_notional + qty * price
        if notional_order:
            # Done when nothing was capped: what is left cannot buy one more increment.
            final = qty == want
            leaves = (
                ZERO if final else floor_to((order.remaining_notional - qty * price) / price, step)
            )
        else:
            assert order_qty is not None
            leaves = order_qty - filled
            final = leaves == ZERO
        cls = OrderFilled if final else OrderPartiallyFilled
        self._emit(
            cls(
                event_id=self._ids(),
                ts_event=ts,
                ts_recorded=self._now,
                order_id=ticket.order_id,
                client_order_id=ticket.client_order_id,
                strategy_id=ticket.strategy_id,
                symbol=ticket.symbol,
                fill_id=self._ids(),
                side=side,
                fill_qty=qty,
                fill_price=price,
                gross_amount=gross,
                fee=fee,
                liquidity=liquidity,
                filled_qty=filled,
                leaves_qty=leaves,
                avg_fill_price=notional_after / filled,
            )
        )
        if capped_by_short_rule and order.is_open:
            self._cancel(order, "the rest would sell short, which the account does not allow", ts)
        self._after_fill(order, ts)
        self._post_trade(ts)

    def _after_fill(self, order: Order, ts: datetime) -> None:
        state = self.state
        if order.child_ids and order.status is S.FILLED:
            self._activate_children(order, ts)
        sibling_id = order.oco_sibling_id
        if sibling_id is None:
            return
        sibling = state.orders[sibling_id]
        if not sibling.is_open:
            return
        if not order.is_open:
            self._cancel(sibling, f"oco sibling {order.order_id} filled", ts)
            return
        shared_left = order.leaves_qty
        target = sibling.filled_qty + shared_left
        if sibling.qty is not None and sibling.qty > target:
            if target <= sibling.filled_qty:
                self._cancel(sibling, f"oco sibling {order.order_id} filled", ts)
                return
            self._emit(
                OrderQuantityReduced(
                    **self._order_keys(sibling, ts),
                    qty=target,
                    reason=f"oco sibling {order.order_id} filled {qty_text(order.filled_qty)}",
                )
            )

    # -- post-trade risk ----------------------------------------------------------------------

    def _after_mark(self, symbol: str, ts: datetime) -> None:
        account = self.state.account
        if account is None:
            return
        position = account.positions.get(symbol)
        if position is not None and position.qty != ZERO:
            self._post_trade(ts)

    def _post_trade(self, ts: datetime) -> None:
        if not self._post_trade_rules:
            return
        limits = self.risk
        state = self.state
        account = state.require_account()
        for status in post_trade_status(
            limits,
            equity=account.cash + account.market_value,
            day_start_equity=state.day_start_equity,
            peak_equity=state.peak_equity,
            breached_rules=state.breached_rules,
        ):
            detail = status.detail
            if status.breached:
                self._emit(
                    RiskLimitBreached(
                        event_id=self._ids(),
                        ts_event=ts,
                        ts_recorded=self._now,
                        rule=status.rule,
                        detail=detail,
                        action=status.action,
                    )
                )
                if SEVERITY[status.action] > SEVERITY[state.trading_state]:
                    self._change_trading_state(
                        status.action, f"{status.rule} limit breached: {detail}", "risk", ts
                    )
            else:
                self._emit(
                    RiskLimitCleared(
                        event_id=self._ids(),
                        ts_event=ts,
                        ts_recorded=self._now,
                        rule=status.rule,
                        detail=detail,
                    )
                )

    # -- external execution (a broker) ------------------------------------------------------

    def _request_cancel(self, order: Order, reason: str, ts: datetime) -> None:
        if order.cancel_requested or not order.is_open:
            return
        if order.status is not S.PENDING_CANCEL and not can_transition(
            order.status, S.PENDING_CANCEL
        ):
            return  # stopped, suspended, ...: the broker decides; nothing to ask for now
        self._emit(OrderCancelRequested(**self._order_keys(order, ts), reason=reason))

    def apply_report(self, report: BrokerReport, now: datetime) -> ReportOutcome:
        """Apply what the broker says about one of our orders, as far as it advances the order:
        the acknowledgment, the fills the broker has and we do not (by cumulative quantity),
        then the status. Never raises for stale, repeated or surprising reports: it says why
        it ignored them."""
        out = self._begin(now)
        order = self.state.order_by_client_id(report.client_order_id)
        if order is None:
            return ReportOutcome(
                events=out, ignored=f"no order with client_order_id {report.client_order_id!r}"
            )
        if report.ts.tzinfo is None:
            return ReportOutcome(
                events=out, order_id=order.order_id, ignored="report time has no timezone"
            )
        notes: list[str] = []
        if report.status is S.REJECTED:
            self._broker_rejected(order, report, notes)
        else:
            self._acknowledge(order, report)
            self._broker_fill(order, report, notes)
            self._broker_status(order, report, notes)
        if not out and not notes:
            notes.append(f"{report.event} ({report.status.value}) changes nothing")
        return ReportOutcome(events=out, order_id=order.order_id, ignored="; ".join(notes) or None)

    def _broker_rejected(self, order: Order, report: BrokerReport, notes: list[str]) -> None:
        reason = report.reason or f"rejected by the broker ({report.event})"
        if can_transition(order.status, S.REJECTED):
            self._emit(
                OrderRejected(
                    **self._order_keys(order, report.ts), ticket=order.ticket, reason=reason
                )
            )
        elif order.is_open and can_transition(order.status, S.CANCELED):
            # Asked to cancel before the broker refused it: it ends either way.
            self._emit(
                OrderCanceled(
                    **self._order_keys(order, report.ts), reason=reason, filled_qty=order.filled_qty
                )
            )
        else:
            notes.append(f"rejection of a {order.status.value} order ignored")

    def _acknowledge(self, order: Order, report: BrokerReport) -> None:
        broker_id = report.broker_order_id or order.broker_order_id
        if broker_id is None:
            return  # a report the engine made up itself (nothing reached the broker)
        if order.status is S.PENDING_NEW:
            # Any report but a rejection means the broker took it: record that first.
            target = report.status if report.status in _ACK_STATUSES else S.NEW
        else:
            target = order.status
        if target is order.status and order.broker_order_id == broker_id:
            return
        self._emit(
            OrderAcknowledged(
                **self._order_keys(order, report.ts), status=target, broker_order_id=broker_id
            )
        )

    def _broker_fill(self, order: Order, report: BrokerReport, notes: list[str]) -> None:
        delta = report.filled_qty - order.filled_qty
        if delta <= ZERO:
            return  # nothing new: a late, repeated or already reconciled report
        if not order.is_open:
            notes.append(
                f"the broker reports {qty_text(delta)} more filled on a {order.status.value} "
                "order: not applied"
            )
            return
        if order.qty is not None and order.filled_qty + delta > order.qty:
            notes.append(
                f"the broker reports {qty_text(report.filled_qty)} filled of "
                f"{qty_text(order.qty)}: capped"
            )
            delta = order.qty - order.filled_qty
        execution_id = None
        price: Decimal | None = None
        if report.fill_price is not None and report.fill_qty == delta and report.fill_price > ZERO:
            price, execution_id = report.fill_price, report.execution_id
        elif report.filled_avg_price is not None and report.filled_avg_price > ZERO:
            # Executions we missed: their average price, from the broker's average.
            avg = report.filled_avg_price
            derived = (report.filled_qty * avg - order.filled_notional) / delta
            price = (derived if derived > ZERO else avg).quantize(_PRICE_STEP)
        if price is None:
            notes.append(f"{qty_text(delta)} filled without a price: waiting for the next report")
            return
        filled = order.filled_qty + delta
        if order.qty is not None:
            final = filled >= order.qty
            leaves = order.qty - filled
        else:
            final = report.status is S.FILLED
            leaves = ZERO
        target = S.FILLED if final else S.PARTIALLY_FILLED
        if not can_transition(order.status, target):
            notes.append(f"a fill cannot move a {order.status.value} order to {target.value}")
            return
        fill_id = fill_id_for(order.broker_order_id, execution_id, filled)
        if fill_id in order.fill_ids:
            return
        notional_after = order.filled_notional + delta * price
        cls = OrderFilled if final else OrderPartiallyFilled
        self._emit(
            cls(
                **self._order_keys(order, report.ts),
                fill_id=fill_id,
                side=order.side,
                fill_qty=delta,
                fill_price=price,
                gross_amount=cents(delta * price),
                fee=ZERO,
                liquidity=Liquidity.TAKER,
                filled_qty=filled,
                leaves_qty=leaves,
                avg_fill_price=notional_after / filled,
            )
        )
        self._post_trade(report.ts)

    def _broker_status(self, order: Order, report: BrokerReport, notes: list[str]) -> None:
        target = report.status
        if target in (S.PARTIALLY_FILLED, S.FILLED, S.PENDING_NEW) or target is order.status:
            return  # fills move those; pending_new is where every order starts
        if not order.is_open:
            return  # a late report for an order that already ended
        ts = report.ts
        if target in TERMINAL_STATUSES:
            if report.filled_qty > order.filled_qty:
                notes.append(f"not {target.value} yet: the broker has fills not applied")
                return
            if not can_transition(order.status, target):
                notes.append(f"cannot go from {order.status.value} to {target.value}")
                return
            if target is S.CANCELED:
                self._emit(
                    OrderCanceled(
                        **self._order_keys(order, ts),
                        reason=report.reason or f"canceled at the broker ({report.event})",
                        filled_qty=order.filled_qty,
                    )
                )
            elif target is S.EXPIRED:
                self._emit(
                    OrderExpired(
                        **self._order_keys(order, ts),
                        reason=report.reason or f"expired at the broker ({report.event})",
                        filled_qty=order.filled_qty,
                    )
                )
            elif target is S.REPLACED:
                new = self._replacement(order, report.replaced_by)
                if new is None:
                    notes.append("replaced by an order this engine did not place")
                    return
                self._emit(
                    OrderReplaced(
                        **self._order_keys(order, ts),
                        replaced_by=new.order_id,
                        filled_qty=order.filled_qty,
                    )
                )
            return
        refused_request = report.event in ("order_cancel_rejected", "order_replace_rejected")
        if (
            order.status in (S.PENDING_CANCEL, S.PENDING_REPLACE)
            and target in (S.NEW, S.ACCEPTED)
            and not refused_request
        ):
            notes.append(f"{target.value} is older than the pending {order.status.value}")
            return
        if not can_transition(order.status, target):
            notes.append(f"cannot go from {order.status.value} to {target.value}")
            return
        self._emit(
            OrderStatusChanged(
                **self._order_keys(order, ts),
                status=target,
                reason=report.reason or f"reported by the broker ({report.event})",
            )
        )

    def _replacement(self, old: Order, broker_id: str | None) -> Order | None:
        """The order that replaced ``old``: by the broker's id, else the one this engine
        submitted to replace it (rare: a linear scan, newest first)."""
        for candidate in reversed(self.state.orders.values()):
            if broker_id is not None and candidate.broker_order_id == broker_id:
                return candidate
            if candidate.ticket.replaces == old.order_id and candidate.status is not S.REJECTED:
                return candidate
        return None


def _duplicate(existing: Order, out: list[DomainEvent]) -> Outcome:
    """A repeated client order id: the existing order, and nothing new."""
    refused = existing.reason if existing.status is S.REJECTED else None
    return Outcome(events=out, order_id=existing.order_id, rejected_reason=refused, duplicate=True)


def _opposite(side: OrderSide) -> OrderSide:
    return SELL if side is BUY else BUY


def _limit_reference(
    buy: bool, open_: Decimal, high: Decimal, low: Decimal, limit: Decimal
) -> Decimal | None:
    """Where a resting limit order fills in a bar: at the open when the bar opens through the
    limit, at the limit when the bar's range reaches it, else not at all."""
    if buy:
        if open_ <= limit:
            return open_
        return limit if low <= limit else None
    if open_ >= limit:
        return open_
    return limit if high >= limit else None


def _trail_stop_from(ticket: OrderTicket, water_mark: Decimal, buy: bool, asset: Asset) -> Decimal:
    if ticket.trail_price is not None:
        offset = ticket.trail_price
    else:
        assert ticket.trail_percent is not None
        offset = water_mark * ticket.trail_percent / HUNDRED
    stop = water_mark + offset if buy else water_mark - offset
    return nearest(stop, asset.tick(stop))


def _has_prices(cmd: SubmitOrder) -> bool:
    return not (
        cmd.limit_price is None
        and cmd.stop_price is None
        and cmd.trail_price is None
        and cmd.take_profit is None
        and cmd.stop_loss is None
    )


def _tick_refusal(cmd: SubmitOrder, asset: Asset) -> str | None:
    """Why a price of the order is not on the asset's tick grid, or None."""
    prices: list[tuple[str, Decimal | None]] = [
        ("limit_price", cmd.limit_price),
        ("stop_price", cmd.stop_price),
        ("trail_price", cmd.trail_price),
    ]
    if cmd.take_profit is not None:
        prices.append(("take_profit.limit_price", cmd.take_profit.limit_price))
    if cmd.stop_loss is not None:
        prices.append(("stop_loss.stop_price", cmd.stop_loss.stop_price))
        prices.append(("stop_loss.limit_price", cmd.stop_loss.limit_price))
    for name, price in prices:
        if price is not None:
            tick = asset.tick(price)
            if not is_multiple(price, tick):
                return f"{name} {price} is not a multiple of {asset.symbol}'s tick {tick}"
    return None
