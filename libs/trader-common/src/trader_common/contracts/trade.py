"""trade.events: the order lifecycle, keyed by symbol. Status names follow Alpaca's."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import AwareDatetime, Field

from .base import Event, Topic


class OrderSide(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"
    TRAILING_STOP = "trailing_stop"


class TimeInForce(StrEnum):
    DAY = "day"
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"
    OPG = "opg"
    CLS = "cls"


class OrderStatus(StrEnum):
    """Alpaca's order status names."""

    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    DONE_FOR_DAY = "done_for_day"
    CANCELED = "canceled"
    EXPIRED = "expired"
    REPLACED = "replaced"
    PENDING_CANCEL = "pending_cancel"
    PENDING_REPLACE = "pending_replace"
    PENDING_REVIEW = "pending_review"
    ACCEPTED = "accepted"
    PENDING_NEW = "pending_new"
    ACCEPTED_FOR_BIDDING = "accepted_for_bidding"
    STOPPED = "stopped"
    REJECTED = "rejected"
    SUSPENDED = "suspended"
    CALCULATED = "calculated"
    HELD = "held"


class OrderClass(StrEnum):
    SIMPLE = "simple"
    BRACKET = "bracket"
    OCO = "oco"
    OTO = "oto"


class OrderLeg(StrEnum):
    """The role of a child order of a bracket, OCO or OTO order."""

    TAKE_PROFIT = "take_profit"
    STOP_LOSS = "stop_loss"


class Liquidity(StrEnum):
    """Whether a fill took liquidity (marketable on arrival) or made it (rested, then filled)."""

    MAKER = "maker"
    TAKER = "taker"


class _OrderEvent(Event):
    topic: ClassVar[Topic] = Topic.TRADE
    partition_field: ClassVar[str] = "symbol"

    order_id: UUID
    client_order_id: str = Field(min_length=1, max_length=128)
    strategy_id: str = Field(min_length=1, max_length=64)
    symbol: str = Field(min_length=1, max_length=32)


class OrderAccepted(_OrderEvent):
    """The engine accepted an order (risk passed); it is working at the venue."""

    event_name: ClassVar[str] = "trade.order-accepted"

    side: OrderSide
    order_type: OrderType
    time_in_force: TimeInForce
    qty: Decimal | None = Field(default=None, gt=0)
    notional: Decimal | None = Field(default=None, gt=0)
    limit_price: Decimal | None = Field(default=None, gt=0)
    stop_price: Decimal | None = Field(default=None, gt=0)
    trail_price: Decimal | None = Field(default=None, gt=0)
    trail_percent: Decimal | None = Field(default=None, gt=0)
    order_class: OrderClass | None = Field(default=None, description="None means simple")
    status: OrderStatus | None = Field(
        default=None, description="new, accepted (queued until the session opens) or held"
    )
    leg: OrderLeg | None = Field(default=None, description="Role of a child order")
    parent_order_id: UUID | None = Field(default=None, description="Parent of a child order")
    replaces: UUID | None = Field(default=None, description="The order this one replaced")
    expires_at: AwareDatetime | None = Field(
        default=None, description="When a day/opg/cls order expires (UTC)"
    )


class OrderRejected(_OrderEvent):
    """The engine or venue refused an order; ``reason`` is for a person to read."""

    event_name: ClassVar[str] = "trade.order-rejected"

    reason: str = Field(min_length=1)


class OrderPartiallyFilled(_OrderEvent):
    """Part of an order filled."""

    event_name: ClassVar[str] = "trade.order-partially-filled"

    fill_id: UUID
    side: OrderSide
    fill_qty: Decimal = Field(gt=0)
    fill_price: Decimal = Field(gt=0)
    fee: Decimal = Field(ge=0)
    filled_qty: Decimal = Field(gt=0, description="Cumulative filled quantity")
    leaves_qty: Decimal = Field(gt=0, description="Quantity still open")
    avg_fill_price: Decimal | None = Field(default=None, gt=0)
    liquidity: Liquidity | None = None


class OrderFilled(_OrderEvent):
    """An order filled completely (this fill completed it)."""

    event_name: ClassVar[str] = "trade.order-filled"

    fill_id: UUID
    side: OrderSide
    fill_qty: Decimal = Field(gt=0)
    fill_price: Decimal = Field(gt=0)
    fee: Decimal = Field(ge=0)
    filled_qty: Decimal = Field(gt=0, description="Cumulative filled quantity")
    avg_fill_price: Decimal = Field(gt=0)
    liquidity: Liquidity | None = None


class OrderCanceled(_OrderEvent):
    """An order was canceled; whatever had filled stays filled."""

    event_name: ClassVar[str] = "trade.order-canceled"

    reason: str = ""
    filled_qty: Decimal = Field(ge=0)


class OrderExpired(_OrderEvent):
    """An order's time in force ran out."""

    event_name: ClassVar[str] = "trade.order-expired"

    filled_qty: Decimal = Field(ge=0)
    reason: str = ""


class OrderReplaced(_OrderEvent):
    """An order was replaced by a new one (``replaced_by``)."""

    event_name: ClassVar[str] = "trade.order-replaced"

    replaced_by: UUID
