"""Request and response bodies of the REST API (Alpaca-like names; money as decimal strings)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from trader_common.contracts.system import TradingState
from trader_common.contracts.trade import (
    OrderClass,
    OrderLeg,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
)

from ..domain.events import AccountType
from ..domain.numbers import MAX_ORDER_NUMBER

Positive = Annotated[Decimal, Field(gt=0, le=MAX_ORDER_NUMBER, max_digits=30, decimal_places=9)]
Symbol = Annotated[
    str, Field(min_length=1, max_length=32, pattern=r"^[A-Z0-9./:-]+$", examples=["AAPL"])
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class TakeProfitIn(_Body):
    limit_price: Positive


class StopLossIn(_Body):
    stop_price: Positive
    limit_price: Positive | None = None


class OrderRequest(_Body):
    """POST /orders. Exactly one of ``qty`` and ``notional``."""

    symbol: Symbol
    side: OrderSide
    type: OrderType = OrderType.MARKET
    time_in_force: TimeInForce = TimeInForce.DAY
    qty: Positive | None = None
    notional: Positive | None = None
    limit_price: Positive | None = None
    stop_price: Positive | None = None
    trail_price: Positive | None = None
    trail_percent: Positive | None = None
    order_class: OrderClass = OrderClass.SIMPLE
    take_profit: TakeProfitIn | None = None
    stop_loss: StopLossIn | None = None
    client_order_id: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    strategy_id: Annotated[str, Field(min_length=1, max_length=64)] = "default"


class ReplaceRequest(_Body):
    """PATCH /orders/{id}: ``qty`` is the new total quantity."""

    qty: Positive | None = None
    limit_price: Positive | None = None
    stop_price: Positive | None = None
    trail_price: Positive | None = None
    trail_percent: Positive | None = None
    time_in_force: TimeInForce | None = None
    client_order_id: Annotated[str, Field(min_length=1, max_length=128)] | None = None


class ResumeRequest(_Body):
    operator: Annotated[str, Field(min_length=1, max_length=64)]
    reason: Annotated[str, Field(min_length=1, max_length=500)]
    target: TradingState = TradingState.ACTIVE


class _View(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class OrderOut(_View):
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


class PositionOut(_View):
    symbol: str
    qty: Decimal
    avg_entry_price: Decimal
    cost_basis: Decimal
    market_price: Decimal
    market_value: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    fees: Decimal


class AccountOut(_View):
    account_id: str
    account_type: AccountType
    starting_cash: Decimal
    cash: Decimal
    market_value: Decimal
    equity: Decimal
    gross_exposure: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    fees: Decimal
    buying_power: Decimal
    reserved_for_orders: Decimal
    margin_multiplier: Decimal
    shorting_enabled: bool
    trading_state: TradingState
    breached_rules: tuple[str, ...]
    peak_equity: Decimal
    risk_day: date | None
    day_start_equity: Decimal
    open_orders: int


class TradingStateOut(BaseModel):
    trading_state: TradingState
    breached_rules: tuple[str, ...]


class Problem(BaseModel):
    """Every 4xx answer: what was wrong, in words."""

    error: str
    detail: str | None = None
    order: OrderOut | None = None
