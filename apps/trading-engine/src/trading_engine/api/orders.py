"""/orders: submit, list, get, replace, cancel one, cancel all (the kill switch's first step)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse

from trader_common.contracts.trade import OrderStatus

from ..domain.commands import (
    CancelAllOrders,
    CancelOrder,
    ReplaceOrder,
    StopLoss,
    SubmitOrder,
    TakeProfit,
)
from ..domain.core import Outcome
from ..service.trading_service import TradingService
from .deps import ServiceDep
from .errors import ERROR_RESPONSES
from .schemas import OrderOut, OrderRequest, Problem, ReplaceRequest, Symbol

router = APIRouter(prefix="/orders", tags=["orders"])


def _order(service: TradingService, order_id: UUID) -> OrderOut:
    view = service.engine.order(order_id)
    if view is None:
        raise HTTPException(404, f"no order with id {order_id}")
    return OrderOut.model_validate(view)


def _answer(service: TradingService, outcome: Outcome, created: int) -> JSONResponse:
    order = _order(service, outcome.order_id) if outcome.order_id is not None else None
    if outcome.duplicate and order is not None:
        return JSONResponse(order.model_dump(mode="json"), status_code=200)
    if outcome.rejected_reason is not None:
        body = Problem(error="order rejected", detail=outcome.rejected_reason, order=order)
        return JSONResponse(body.model_dump(mode="json"), status_code=422)
    assert order is not None
    view = service.engine.order(order.order_id)
    if view is not None and view.status is OrderStatus.PENDING_NEW and view.broker_order_id is None:
        # Recorded, but the broker has not confirmed it (it was unreachable or rate-limited):
        # reconciliation places it or rejects it; the client must not send it again.
        return JSONResponse(order.model_dump(mode="json"), status_code=202)
    return JSONResponse(order.model_dump(mode="json"), status_code=created)


@router.post(
    "",
    status_code=201,
    response_model=OrderOut,
    summary="Submit an order",
    responses={
        200: {"model": OrderOut, "description": "A repeated client_order_id: the existing order"},
        422: {"model": Problem, "description": "Invalid or rejected (with the reason)"},
    },
)
async def submit_order(body: OrderRequest, service: ServiceDep) -> JSONResponse:
    cmd = SubmitOrder(
        symbol=body.symbol,
        side=body.side,
        order_type=body.type,
        time_in_force=body.time_in_force,
        qty=body.qty,
        notional=body.notional,
        limit_price=body.limit_price,
        stop_price=body.stop_price,
        trail_price=body.trail_price,
        trail_percent=body.trail_percent,
        order_class=body.order_class,
        take_profit=TakeProfit(limit_price=body.take_profit.limit_price)
        if body.take_profit
        else None,
        stop_loss=StopLoss(
            stop_price=body.stop_loss.stop_price, limit_price=body.stop_loss.limit_price
        )
        if body.stop_loss
        else None,
        client_order_id=body.client_order_id,
        strategy_id=body.strategy_id,
    )
    return _answer(service, await service.submit_order(cmd), 201)


@router.get("", summary="List orders, newest first")
async def list_orders(
    service: ServiceDep,
    status: Annotated[
        str | None,
        Query(description="open, closed, all, or one order status (e.g. filled)"),
    ] = "all",
    symbol: Annotated[Symbol | None, Query()] = None,
    after: Annotated[datetime | None, Query(description="created after (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="created until (ISO 8601)")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
) -> list[OrderOut]:
    one: OrderStatus | None = None
    if status not in (None, "all", "open", "closed"):
        try:
            one = OrderStatus(status)
        except ValueError:
            allowed = ", ".join(["open", "closed", "all", *(s.value for s in OrderStatus)])
            raise HTTPException(422, f"status must be one of {allowed}; got {status!r}") from None
    for name, bound in (("after", after), ("until", until)):
        if bound is not None and bound.tzinfo is None:
            raise HTTPException(422, f"{name} must carry a timezone (e.g. ...Z)")
    views = service.engine.orders(symbol=symbol, status=one, open_only=status == "open")
    if status == "closed":
        views = [v for v in views if v.status in _CLOSED]
    views = [
        v
        for v in views
        if (after is None or v.created_at > after) and (until is None or v.created_at <= until)
    ]
    views.sort(key=lambda v: v.created_at, reverse=True)
    return [OrderOut.model_validate(v) for v in views[:limit]]


_CLOSED = {
    OrderStatus.FILLED,
    OrderStatus.CANCELED,
    OrderStatus.EXPIRED,
    OrderStatus.REJECTED,
    OrderStatus.REPLACED,
}


@router.get("/{order_id}", summary="One order", responses={404: ERROR_RESPONSES[404]})
async def get_order(order_id: UUID, service: ServiceDep) -> OrderOut:
    return _order(service, order_id)


@router.patch(
    "/{order_id}",
    response_model=OrderOut,
    summary="Replace an order (a new order replaces it)",
    responses={
        404: ERROR_RESPONSES[404],
        409: {"description": "The order is filled, canceled or otherwise done"},
        422: {"model": Problem, "description": "Invalid or refused (the old order keeps working)"},
    },
)
async def replace_order(order_id: UUID, body: ReplaceRequest, service: ServiceDep) -> JSONResponse:
    if not body.model_fields_set - {"client_order_id"}:
        raise HTTPException(422, "give at least one of qty, prices, trail or time_in_force")
    cmd = ReplaceOrder(
        order_id=order_id,
        qty=body.qty,
        limit_price=body.limit_price,
        stop_price=body.stop_price,
        trail_price=body.trail_price,
        trail_percent=body.trail_percent,
        time_in_force=body.time_in_force,
        client_order_id=body.client_order_id,
    )
    return _answer(service, await service.replace_order(cmd), 200)


@router.delete(
    "/{order_id}",
    summary="Cancel an order",
    responses={404: ERROR_RESPONSES[404], 409: {"description": "The order is already done"}},
)
async def cancel_order(order_id: UUID, service: ServiceDep) -> OrderOut:
    outcome = await service.cancel_order(CancelOrder(order_id=order_id))
    assert outcome.order_id is not None
    return _order(service, outcome.order_id)


@router.delete("", summary="Cancel every open order; returns the orders it canceled")
async def cancel_all_orders(
    service: ServiceDep, symbol: Annotated[Symbol | None, Query()] = None
) -> list[OrderOut]:
    before = [v.order_id for v in service.engine.orders(open_only=True, symbol=symbol)]
    await service.cancel_all_orders(CancelAllOrders(symbol=symbol))
    return [
        OrderOut.model_validate(v)
        for order_id in before
        if (v := service.engine.order(order_id)) is not None and v.status is OrderStatus.CANCELED
    ]
