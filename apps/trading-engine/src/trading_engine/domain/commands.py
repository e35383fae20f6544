"""Commands: requests in the imperative. Construction validates their shape, so a malformed
request fails with an error naming the field (``InvalidOrderError``) and records nothing.
Whether a well-formed order is acceptable (asset, account, risk) is the engine's decision and
ends in OrderAccepted or OrderRejected."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar
from uuid import UUID

from trader_common.contracts.system import TradingState
from trader_common.contracts.trade import OrderClass, OrderSide, OrderType, TimeInForce

from .errors import InvalidCommandError, InvalidOrderError
from .numbers import HUNDRED, MAX_ORDER_NUMBER, ZERO, as_decimal

_SYMBOL = re.compile(r"^[A-Z0-9./:-]{1,32}$")
E = TypeVar("E", bound=StrEnum)
_NUMBER_FIELDS = ("qty", "notional", "limit_price", "stop_price", "trail_price", "trail_percent")

PRICED_TYPES: dict[OrderType, tuple[str, ...]] = {
    OrderType.MARKET: (),
    OrderType.LIMIT: ("limit_price",),
    OrderType.STOP: ("stop_price",),
    OrderType.STOP_LIMIT: ("stop_price", "limit_price"),
    OrderType.TRAILING_STOP: (),
}
# Which order types each time in force takes (Alpaca's rules; the auctions take market and
# limit only, and a trailing stop needs time to trail).
TIF_ORDER_TYPES: dict[TimeInForce, frozenset[OrderType]] = {
    TimeInForce.DAY: frozenset(OrderType),
    TimeInForce.GTC: frozenset(OrderType),
    TimeInForce.IOC: frozenset(OrderType) - {OrderType.TRAILING_STOP},
    TimeInForce.FOK: frozenset(OrderType) - {OrderType.TRAILING_STOP},
    TimeInForce.OPG: frozenset({OrderType.MARKET, OrderType.LIMIT}),
    TimeInForce.CLS: frozenset({OrderType.MARKET, OrderType.LIMIT}),
}


def _enum(error: type[ValueError], cls: type[E], name: str, value: object) -> E:
    if isinstance(value, cls):
        return value
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return cls(value)
    except ValueError:
        allowed = ", ".join(member.value for member in cls)
        raise error(f"{name} must be one of {allowed}; got {value!r}") from None


def _price(error: type[ValueError], name: str, value: object) -> Decimal | None:
    if value is None:
        return None
    try:
        number = as_decimal(name, value)
    except ValueError as exc:
        raise error(str(exc)) from None
    if number <= ZERO:
        raise error(f"{name} must be positive, got {number}")
    if number > MAX_ORDER_NUMBER:
        raise error(f"{name} must be at most {MAX_ORDER_NUMBER:,}, got {number}")
    return number


def _text(error: type[ValueError], name: str, value: object, max_length: int) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= max_length:
        raise error(f"{name} must be a string of 1 to {max_length} characters, got {value!r}")
    return value


def _symbol(error: type[ValueError], value: object) -> str:
    if not isinstance(value, str) or not _SYMBOL.match(value):
        raise error(f"symbol must be 1-32 of A-Z, 0-9, '.', '/', ':' or '-'; got {value!r}")
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class TakeProfit:
    limit_price: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "limit_price",
            _price(InvalidOrderError, "take_profit.limit_price", self.limit_price),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class StopLoss:
    stop_price: Decimal
    limit_price: Decimal | None = None

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "stop_price", _price(InvalidOrderError, "stop_loss.stop_price", self.stop_price)
        )
        object.__setattr__(
            self,
            "limit_price",
            _price(InvalidOrderError, "stop_loss.limit_price", self.limit_price),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitOrder:
    """Place an order. Exactly one of ``qty`` and ``notional``."""

    symbol: str
    side: OrderSide
    order_type: OrderType = OrderType.MARKET
    time_in_force: TimeInForce = TimeInForce.DAY
    qty: Decimal | None = None
    notional: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_price: Decimal | None = None
    trail_percent: Decimal | None = None
    order_class: OrderClass = OrderClass.SIMPLE
    take_profit: TakeProfit | None = None
    stop_loss: StopLoss | None = None
    client_order_id: str | None = None
    strategy_id: str = "default"

    def __post_init__(self) -> None:
        err = InvalidOrderError
        put = object.__setattr__
        put(self, "symbol", _symbol(err, self.symbol))
        put(self, "side", _enum(err, OrderSide, "side", self.side))
        put(self, "order_type", _enum(err, OrderType, "order_type", self.order_type))
        put(self, "time_in_force", _enum(err, TimeInForce, "time_in_force", self.time_in_force))
        put(self, "order_class", _enum(err, OrderClass, "order_class", self.order_class))
        for name in (
            "qty",
            "notional",
            "limit_price",
            "stop_price",
            "trail_price",
            "trail_percent",
        ):
            put(self, name, _price(err, name, getattr(self, name)))
        if self.client_order_id is not None:
            _text(err, "client_order_id", self.client_order_id, 128)
        _text(err, "strategy_id", self.strategy_id, 64)
        if self.take_profit is not None and not isinstance(self.take_profit, TakeProfit):
            raise err("take_profit must be a TakeProfit")
        if self.stop_loss is not None and not isinstance(self.stop_loss, StopLoss):
            raise err("stop_loss must be a StopLoss")
        self._check_size()
        self._check_prices()
        self._check_time_in_force()
        self._check_order_class()

    def _check_size(self) -> None:
        if (self.qty is None) == (self.notional is None):
            raise InvalidOrderError("give exactly one of qty and notional")
        if self.notional is not None and self.order_type is not OrderType.MARKET:
            raise InvalidOrderError(
                f"notional orders must be market orders, not {self.order_type.value}"
            )

    def _check_prices(self) -> None:
        needed = PRICED_TYPES[self.order_type]
        for name in ("limit_price", "stop_price"):
            given = getattr(self, name) is not None
            if name in needed and not given:
                raise InvalidOrderError(f"a {self.order_type.value} order needs {name}")
            if name not in needed and given:
                raise InvalidOrderError(f"a {self.order_type.value} order takes no {name}")
        trails = (self.trail_price is not None) + (self.trail_percent is not None)
        if self.order_type is OrderType.TRAILING_STOP:
            if trails != 1:
                raise InvalidOrderError(
                    "a trailing_stop order needs exactly one of trail_price and trail_percent"
                )
            if self.trail_percent is not None and self.trail_percent >= HUNDRED:
                raise InvalidOrderError(
                    f"trail_percent must be below 100, got {self.trail_percent}"
                )
        elif trails:
            raise InvalidOrderError(
                f"a {self.order_type.value} order takes no trail_price or trail_percent"
            )

    def _check_time_in_force(self) -> None:
        if self.order_type not in TIF_ORDER_TYPES[self.time_in_force]:
            allowed = ", ".join(sorted(t.value for t in TIF_ORDER_TYPES[self.time_in_force]))
            raise InvalidOrderError(
                f"time_in_force {self.time_in_force.value} takes {allowed} orders, "
                f"not {self.order_type.value}"
            )

    def _check_order_class(self) -> None:
        cls, tp, sl = self.order_class, self.take_profit, self.stop_loss
        if cls is OrderClass.SIMPLE:
            if tp is not None or sl is not None:
                raise InvalidOrderError(
                    "take_profit and stop_loss need order_class bracket, oco or oto"
                )
            return
        if self.time_in_force not in (TimeInForce.DAY, TimeInForce.GTC):
            raise InvalidOrderError(
                f"{cls.value} orders take time_in_force day or gtc, not {self.time_in_force.value}"
            )
        if self.notional is not None:
            raise InvalidOrderError(f"{cls.value} orders are sized by qty, not notional")
        if cls is OrderClass.BRACKET and (tp is None or sl is None):
            raise InvalidOrderError("a bracket order needs both take_profit and stop_loss")
        if cls is OrderClass.OTO and (tp is None) == (sl is None):
            raise InvalidOrderError("an oto order needs exactly one of take_profit and stop_loss")
        if cls is OrderClass.OCO:
            if tp is None or sl is None:
                raise InvalidOrderError("an oco order needs both take_profit and stop_loss")
            if self.order_type is not OrderType.LIMIT:
                raise InvalidOrderError("an oco order is a limit order (its take-profit leg)")
            if self.limit_price != tp.limit_price:
                raise InvalidOrderError(
                    "an oco order's limit_price must equal take_profit.limit_price"
                )
        elif self.order_type is OrderType.TRAILING_STOP:
            raise InvalidOrderError(f"the entry of a {cls.value} order cannot be a trailing stop")
        buying = self.side is OrderSide.BUY
        # The exit legs sell when a bracket/OTO buys, and an OCO order is itself the exit.
        exit_sells = buying if cls is not OrderClass.OCO else not buying
        if tp is not None and sl is not None:
            take, stop = tp.limit_price, sl.stop_price
            if (take <= stop) if exit_sells else (take >= stop):
                raise InvalidOrderError(
                    f"take_profit.limit_price {take} must be "
                    f"{'above' if exit_sells else 'below'} stop_loss.stop_price {stop} "
                    f"when the exits {'sell' if exit_sells else 'buy'}"
                )
        if sl is not None and sl.limit_price is not None:
            above, below = sl.limit_price > sl.stop_price, sl.limit_price < sl.stop_price
            if above if exit_sells else below:
                raise InvalidOrderError(
                    f"stop_loss.limit_price {sl.limit_price} must be "
                    f"{'at or below' if exit_sells else 'at or above'} stop_loss.stop_price "
                    f"{sl.stop_price}"
                )
        entry = self.limit_price if self.order_type is OrderType.LIMIT else None
        if cls is not OrderClass.OCO and entry is not None:
            if tp is not None and (
                (tp.limit_price <= entry) if buying else (tp.limit_price >= entry)
            ):
                raise InvalidOrderError(
                    f"take_profit.limit_price {tp.limit_price} must be "
                    f"{'above' if buying else 'below'} the entry limit_price {entry}"
                )
            if sl is not None and (
                (sl.stop_price >= entry) if buying else (sl.stop_price <= entry)
            ):
                raise InvalidOrderError(
                    f"stop_loss.stop_price {sl.stop_price} must be "
                    f"{'below' if buying else 'above'} the entry limit_price {entry}"
                )


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplaceOrder:
    """Replace a working order with new terms. ``qty`` is the new total quantity (it must exceed
    what already filled); the replacement works the rest."""

    order_id: UUID
    qty: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_price: Decimal | None = None
    trail_percent: Decimal | None = None
    time_in_force: TimeInForce | None = None
    client_order_id: str | None = None

    def __post_init__(self) -> None:
        err = InvalidOrderError
        if not isinstance(self.order_id, UUID):
            raise err(f"order_id must be a UUID, got {self.order_id!r}")
        for name in ("qty", "limit_price", "stop_price", "trail_price", "trail_percent"):
            object.__setattr__(self, name, _price(err, name, getattr(self, name)))
        if self.time_in_force is not None:
            object.__setattr__(
                self,
                "time_in_force",
                _enum(err, TimeInForce, "time_in_force", self.time_in_force),
            )
        if self.client_order_id is not None:
            _text(err, "client_order_id", self.client_order_id, 128)
        if self.trail_price is not None and self.trail_percent is not None:
            raise err("give at most one of trail_price and trail_percent")
        if self.trail_percent is not None and self.trail_percent >= HUNDRED:
            raise err(f"trail_percent must be below 100, got {self.trail_percent}")
        if all(
            getattr(self, name) is None
            for name in (
                "qty",
                "limit_price",
                "stop_price",
                "trail_price",
                "trail_percent",
                "time_in_force",
            )
        ):
            raise err(
                "a replace needs at least one of qty, limit_price, stop_price, "
                "trail_price, trail_percent, time_in_force"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelOrder:
    """Cancel one order (by id or client order id), its held children and its OCO sibling."""

    order_id: UUID | None = None
    client_order_id: str | None = None
    reason: str = "canceled on request"

    def __post_init__(self) -> None:
        if (self.order_id is None) == (self.client_order_id is None):
            raise InvalidCommandError("give exactly one of order_id and client_order_id")


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelAllOrders:
    symbol: str | None = None
    reason: str = "cancel all on request"

    def __post_init__(self) -> None:
        if self.symbol is not None:
            _symbol(InvalidCommandError, self.symbol)


@dataclass(frozen=True, slots=True, kw_only=True)
class ClosePosition:
    """Close all (or ``qty`` of) a position with a market order; by default cancel the symbol's
    working orders first so they cannot re-open it."""

    symbol: str
    qty: Decimal | None = None
    cancel_orders: bool = True
    client_order_id: str | None = None
    strategy_id: str = "default"

    def __post_init__(self) -> None:
        _symbol(InvalidCommandError, self.symbol)
        object.__setattr__(self, "qty", _price(InvalidCommandError, "qty", self.qty))
        if self.client_order_id is not None:
            _text(InvalidCommandError, "client_order_id", self.client_order_id, 128)
        _text(InvalidCommandError, "strategy_id", self.strategy_id, 64)


@dataclass(frozen=True, slots=True, kw_only=True)
class ResumeTrading:
    """An operator lifts a halt: back to active, or to reducing (exits only)."""

    operator: str
    reason: str
    target: TradingState = TradingState.ACTIVE

    def __post_init__(self) -> None:
        _text(InvalidCommandError, "operator", self.operator, 64)
        _text(InvalidCommandError, "reason", self.reason, 500)
        target = _enum(InvalidCommandError, TradingState, "target", self.target)
        if target is TradingState.HALTED:
            raise InvalidCommandError("resume to active or reducing; use HaltTrading to halt")
        object.__setattr__(self, "target", target)


@dataclass(frozen=True, slots=True, kw_only=True)
class HaltTrading:
    """An operator's kill switch: to halted (no orders) or reducing (exits only)."""

    operator: str
    reason: str
    target: TradingState = TradingState.HALTED

    def __post_init__(self) -> None:
        _text(InvalidCommandError, "operator", self.operator, 64)
        _text(InvalidCommandError, "reason", self.reason, 500)
        target = _enum(InvalidCommandError, TradingState, "target", self.target)
        if target is TradingState.ACTIVE:
            raise InvalidCommandError("halt to halted or reducing; use ResumeTrading to resume")
        object.__setattr__(self, "target", target)
