"""Read-only pictures of the account and its positions, for queries and API responses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from trader_common.contracts.system import TradingState

from .events import AccountType
from .numbers import ZERO
from .state import EngineState


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionView:
    symbol: str
    qty: Decimal
    avg_entry_price: Decimal
    cost_basis: Decimal
    market_price: Decimal
    market_value: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    fees: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountView:
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


def position_view(state: EngineState, symbol: str) -> PositionView | None:
    account = state.require_account()
    position = account.positions.get(symbol)
    if position is None:
        return None
    mark = account.marks.get(symbol, ZERO)
    return PositionView(
        symbol=symbol,
        qty=position.qty,
        avg_entry_price=position.avg_entry_price,
        cost_basis=position.cost_basis,
        market_price=mark,
        market_value=position.market_value(mark),
        realized_pnl=position.realized_pnl,
        unrealized_pnl=position.unrealized_pnl(mark),
        fees=position.fees,
    )


def position_views(state: EngineState, *, include_flat: bool = False) -> list[PositionView]:
    account = state.require_account()
    views = []
    for symbol, position in account.positions.items():
        if position.qty != ZERO or include_flat:
            view = position_view(state, symbol)
            if view is not None:
                views.append(view)
    return views


def account_view(state: EngineState) -> AccountView:
    account = state.require_account()
    return AccountView(
        account_id=account.account_id,
        account_type=account.account_type,
        starting_cash=account.starting_cash,
        cash=account.cash,
        market_value=account.market_value,
        equity=account.equity,
        gross_exposure=account.gross_exposure,
        realized_pnl=account.realized_pnl,
        unrealized_pnl=account.unrealized_pnl,
        fees=account.fees,
        buying_power=account.buying_power(state.reserved),
        reserved_for_orders=state.reserved,
        margin_multiplier=account.margin_multiplier,
        shorting_enabled=account.shorting_enabled,
        trading_state=state.trading_state,
        breached_rules=tuple(sorted(state.breached_rules)),
        peak_equity=state.peak_equity,
        risk_day=state.risk_day,
        day_start_equity=state.day_start_equity,
        open_orders=state.open_order_count,
    )
