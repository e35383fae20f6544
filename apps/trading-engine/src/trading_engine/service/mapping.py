"""Domain events -> the published contract events (trade.events, position.updates,
system.events). Events that only the engine needs (marks, triggers, trailing moves, risk-day
bookkeeping) are stored but not published."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from trader_common.contracts import Event, PositionChanged
from trader_common.contracts import system as system_contracts
from trader_common.contracts import trade as trade_contracts

from ..domain import events as domain
from ..domain.numbers import ZERO
from ..domain.orders import OrderTicket
from ..domain.state import EngineState

SCOPE_GLOBAL = "global"

_ORDER_HEADER = (
    "event_id",
    "ts_event",
    "ts_recorded",
    "order_id",
    "client_order_id",
    "strategy_id",
    "symbol",
)


def _order_header(e: domain.DomainEvent) -> dict[str, Any]:
    """The fields every order event carries, named as the contracts name them."""
    return {name: getattr(e, name) for name in _ORDER_HEADER}


def _accepted(e: domain.OrderAccepted) -> trade_contracts.OrderAccepted:
    t: OrderTicket = e.ticket
    return trade_contracts.OrderAccepted(
        **_order_header(e),
        side=t.side,
        order_type=t.order_type,
        time_in_force=t.time_in_force,
        qty=t.qty,
        notional=t.notional,
        limit_price=t.limit_price,
        stop_price=t.stop_price,
        trail_price=t.trail_price,
        trail_percent=t.trail_percent,
        order_class=t.order_class,
        status=e.status,
        leg=t.leg,
        parent_order_id=t.parent_id,
        replaces=t.replaces,
        expires_at=e.expires_at,
    )


def _fill(e: domain.OrderFillEvent) -> Event:
    common = {
        **_order_header(e),
        "fill_id": e.fill_id,
        "side": e.side,
        "fill_qty": e.fill_qty,
        "fill_price": e.fill_price,
        "fee": e.fee,
        "filled_qty": e.filled_qty,
        "avg_fill_price": e.avg_fill_price,
        "liquidity": e.liquidity,
    }
    if isinstance(e, domain.OrderFilled):
        return trade_contracts.OrderFilled.model_validate(common)
    return trade_contracts.OrderPartiallyFilled.model_validate(
        {**common, "leaves_qty": e.leaves_qty}
    )


def _position(state: EngineState, symbol: str, strategy_id: str, last: domain.DomainEvent) -> Event:
    account = state.require_account()
    position = account.positions[symbol]
    mark = account.marks.get(symbol, ZERO)
    return PositionChanged(
        ts_event=last.ts_event,
        ts_recorded=last.ts_recorded,
        account_id=account.account_id,
        strategy_id=strategy_id,
        symbol=symbol,
        qty=position.qty,
        avg_entry_price=position.avg_entry_price,
        market_price=mark,
        realized_pnl=position.realized_pnl,
        unrealized_pnl=position.unrealized_pnl(mark),
        fees=position.fees,
    )


def to_contract_events(
    events: Sequence[domain.DomainEvent], state: EngineState, *, service: str = "trading-engine"
) -> list[Event]:
    """The contract events to publish for ``events`` (just applied to ``state``). Positions
    are published once per symbol per batch, as they stand after the batch."""
    out: list[Event] = []
    touched: dict[str, tuple[str, domain.DomainEvent]] = {}
    for e in events:
        if isinstance(e, domain.OrderAccepted):
            out.append(_accepted(e))
        elif isinstance(e, domain.OrderFillEvent):
            out.append(_fill(e))
            touched[e.symbol] = (e.strategy_id, e)
        elif isinstance(e, domain.OrderRejected):
            out.append(
                trade_contracts.OrderRejected(
                    **_order_header(e),
                    reason=e.reason,
                )
            )
        elif isinstance(e, domain.OrderCanceled):
            out.append(
                trade_contracts.OrderCanceled(
                    **_order_header(e),
                    reason=e.reason,
                    filled_qty=e.filled_qty,
                )
            )
        elif isinstance(e, domain.OrderExpired):
            out.append(
                trade_contracts.OrderExpired(
                    **_order_header(e),
                    reason=e.reason,
                    filled_qty=e.filled_qty,
                )
            )
        elif isinstance(e, domain.OrderReplaced):
            out.append(
                trade_contracts.OrderReplaced(
                    **_order_header(e),
                    replaced_by=e.replaced_by,
                )
            )
        elif isinstance(e, domain.TradingStateChanged):
            out.append(
                system_contracts.TradingStateChanged(
                    event_id=e.event_id,
                    ts_event=e.ts_event,
                    ts_recorded=e.ts_recorded,
                    service=service,
                    scope=SCOPE_GLOBAL,
                    previous=e.previous,
                    current=e.current,
                    reason=f"{e.reason} (by {e.changed_by})",
                )
            )
    for symbol, (strategy_id, last) in touched.items():
        out.append(_position(state, symbol, strategy_id, last))
    return out
