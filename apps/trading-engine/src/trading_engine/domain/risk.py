"""Risk rules. Pre-trade rules refuse an order with a reason a person can read; post-trade rules
(daily loss, drawdown) move trading to reducing or halted, which holds until an operator
resumes."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from trader_common.contracts.system import TradingState

from .errors import ConfigurationError
from .numbers import HUNDRED, ZERO

SEVERITY = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}
DAILY_LOSS = "daily_loss"
DRAWDOWN = "drawdown"


def money(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def qty_text(qty: Decimal) -> str:
    return f"{qty.normalize():f}"


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """Every limit is optional (None: not checked). Percentages are in percent (10 = 10%)."""

    max_order_notional: Decimal | None = None
    max_position_notional: Decimal | None = None
    max_position_pct_of_equity: Decimal | None = None
    max_gross_exposure: Decimal | None = None
    allowed_symbols: frozenset[str] | None = None
    denied_symbols: frozenset[str] = frozenset()
    price_collar_pct: Decimal | None = None
    max_open_orders: int | None = None
    max_orders_per_window: int | None = None
    order_rate_window: timedelta = timedelta(seconds=1)
    max_daily_loss: Decimal | None = None
    daily_loss_action: TradingState = TradingState.HALTED
    max_drawdown_pct: Decimal | None = None
    drawdown_action: TradingState = TradingState.HALTED

    def __post_init__(self) -> None:
        for name in (
            "max_order_notional",
            "max_position_notional",
            "max_gross_exposure",
            "max_daily_loss",
        ):
            value = getattr(self, name)
            if value is not None and value <= ZERO:
                raise ConfigurationError(f"risk limit {name} must be positive, got {value}")
        for name in ("max_position_pct_of_equity", "price_collar_pct", "max_drawdown_pct"):
            value = getattr(self, name)
            if value is not None and not ZERO < value <= HUNDRED * 100:
                raise ConfigurationError(
                    f"risk limit {name} must be a positive percent, got {value}"
                )
        for name in ("max_open_orders", "max_orders_per_window"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigurationError(f"risk limit {name} must be at least 1, got {value}")
        if self.order_rate_window <= timedelta(0):
            raise ConfigurationError("order_rate_window must be positive")
        for name in ("daily_loss_action", "drawdown_action"):
            if getattr(self, name) is TradingState.ACTIVE:
                raise ConfigurationError(f"{name} must be reducing or halted")

    @property
    def rate_memory(self) -> int:
        return self.max_orders_per_window or 0

    @property
    def has_post_trade_rules(self) -> bool:
        return self.max_daily_loss is not None or self.max_drawdown_pct is not None


@dataclass(slots=True)
class OrderRiskView:
    """What the pre-trade rules need to know about one order (estimated where not yet known)."""

    symbol: str
    buy: bool
    qty: Decimal  # estimated for a notional order
    price: Decimal | None  # estimated fill price
    notional: Decimal | None  # estimated value
    opening_qty: Decimal  # the part that grows exposure
    reduces_only: bool  # shrinks a position and never opens or flips one
    limit_price: Decimal | None
    stop_price: Decimal | None
    new_orders: int  # orders this request opens (a bracket opens three)
    counts_for_rate: bool


@dataclass(slots=True)
class RiskContext:
    """The account-wide figures the rules compare against."""

    trading_state: TradingState
    position_qty: Decimal
    open_same_side_qty: Decimal  # working simple/entry orders on the same side and symbol
    equity: Decimal
    gross_exposure: Decimal
    reserved: Decimal
    open_orders: int
    recent_accepts: Sequence[datetime]  # the last max_orders_per_window acceptance times
    reference_price: Decimal | None  # last quote mid, else last bar close
    now: datetime


def pre_trade_refusal(limits: RiskLimits, order: OrderRiskView, ctx: RiskContext) -> str | None:
    """The reason ``order`` is refused, or None when every rule passes."""
    if ctx.trading_state is TradingState.HALTED:
        return "trading is halted: no orders are accepted until an operator resumes trading"
    if ctx.trading_state is TradingState.REDUCING and not order.reduces_only:
        return (
            "trading is reducing: only orders that shrink a position are accepted, and "
            f"{_what(order)} would not (position {qty_text(ctx.position_qty)})"
        )
    grows = not order.reduces_only
    if grows and limits.allowed_symbols is not None and order.symbol not in limits.allowed_symbols:
        return f"{order.symbol} is not on the list of allowed symbols"
    if grows and order.symbol in limits.denied_symbols:
        return f"{order.symbol} is on the list of denied symbols"
    if limits.max_open_orders is not None:
        after = ctx.open_orders + order.new_orders
        if after > limits.max_open_orders:
            return (
                f"too many open orders: {ctx.open_orders} open, this adds {order.new_orders}, "
                f"the limit is {limits.max_open_orders}"
            )
    limit = limits.max_orders_per_window
    if limit is not None and order.counts_for_rate:
        # Only the last `limit` times are kept: the window is full when the oldest is inside it.
        recent = ctx.recent_accepts
        if len(recent) >= limit and recent[0] > ctx.now - limits.order_rate_window:
            return (
                f"order rate limit: {limit} orders in the last "
                f"{limits.order_rate_window.total_seconds():g}s, the limit is "
                f"{limits.max_orders_per_window}"
            )
    if limits.price_collar_pct is not None and ctx.reference_price is not None:
        for name, price in (("limit price", order.limit_price), ("stop price", order.stop_price)):
            if price is None:
                continue
            away = abs(price - ctx.reference_price) / ctx.reference_price * HUNDRED
            if away > limits.price_collar_pct:
                return (
                    f"{name} {price} is {away:.1f}% away from the last price "
                    f"{ctx.reference_price} of {order.symbol}; the price collar is "
                    f"{limits.price_collar_pct}%"
                )
    if not grows:
        return None
    return _size_refusal(limits, order, ctx)


def _what(order: OrderRiskView) -> str:
    return f"this {'buy' if order.buy else 'sell'} of {qty_text(order.qty)} {order.symbol}"


def _size_refusal(limits: RiskLimits, order: OrderRiskView, ctx: RiskContext) -> str | None:
    price = order.price
    notional = order.notional
    if notional is None or price is None:
        if any(
            limit is not None
            for limit in (
                limits.max_order_notional,
                limits.max_position_notional,
                limits.max_position_pct_of_equity,
                limits.max_gross_exposure,
            )
        ):
            return (
                f"no price for {order.symbol} yet, so {_what(order)} cannot be checked "
                "against limits"
            )
        return None
    if limits.max_order_notional is not None and notional > limits.max_order_notional:
        return (
            f"order value {money(notional)} is above the limit of "
            f"{money(limits.max_order_notional)} per order"
        )
    signed = order.qty if order.buy else -order.qty
    open_same = ctx.open_same_side_qty if order.buy else -ctx.open_same_side_qty
    projected = abs(ctx.position_qty + open_same + signed) * price
    if limits.max_position_notional is not None and projected > limits.max_position_notional:
        return (
            f"{_what(order)} would bring the {order.symbol} position (with working orders) "
            f"to {money(projected)}, above the limit of {money(limits.max_position_notional)}"
        )
    if limits.max_position_pct_of_equity is not None:
        allowed = max(ZERO, ctx.equity) * limits.max_position_pct_of_equity / HUNDRED
        if projected > allowed:
            return (
                f"{_what(order)} would bring the {order.symbol} position (with working "
                f"orders) to {money(projected)}, above "
                f"{limits.max_position_pct_of_equity}% of equity ({money(allowed)})"
            )
    if limits.max_gross_exposure is not None:
        gross = ctx.gross_exposure + ctx.reserved + order.opening_qty * price
        if gross > limits.max_gross_exposure:
            return (
                f"{_what(order)} would bring gross exposure (with working orders) to "
                f"{money(gross)}, above the limit of {money(limits.max_gross_exposure)}"
            )
    return None


@dataclass(frozen=True, slots=True)
class RuleStatus:
    rule: str
    breached: bool
    action: TradingState
    describe: Callable[[], str]  # words only when the rule changes state (formatting is slow)

    @property
    def detail(self) -> str:
        return self.describe()


def post_trade_status(
    limits: RiskLimits,
    *,
    equity: Decimal,
    day_start_equity: Decimal,
    peak_equity: Decimal,
    breached_rules: Collection[str],
) -> list[RuleStatus]:
    """The post-trade rules whose state changes: newly breached, or back within the limit.
    Runs after every fill and mark, so the common case (no change) is a few comparisons."""
    changes: list[RuleStatus] = []
    max_loss = limits.max_daily_loss
    if max_loss is not None:
        loss = day_start_equity - equity
        breached = loss >= max_loss
        if breached != (DAILY_LOSS in breached_rules):
            changes.append(
                RuleStatus(
                    DAILY_LOSS,
                    breached,
                    limits.daily_loss_action,
                    lambda: (
                        f"daily loss {money(loss)} (equity {money(equity)} against "
                        f"{money(day_start_equity)} at the start of the day); the limit is "
                        f"{money(max_loss)}"
                    ),
                )
            )
    max_drawdown = limits.max_drawdown_pct
    if max_drawdown is not None and peak_equity > ZERO:
        # (peak - equity) / peak >= max% without dividing on every mark
        breached = (peak_equity - equity) * HUNDRED >= max_drawdown * peak_equity
        if breached != (DRAWDOWN in breached_rules):
            changes.append(
                RuleStatus(
                    DRAWDOWN,
                    breached,
                    limits.drawdown_action,
                    lambda: (
                        f"drawdown {(peak_equity - equity) / peak_equity * HUNDRED:.2f}% from "
                        f"peak equity {money(peak_equity)} (equity {money(equity)}); the limit "
                        f"is {max_drawdown}%"
                    ),
                )
            )
    return changes
