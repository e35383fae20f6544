"""GET /broker/positions: whether the broker (broker=alpaca) holds the positions the engine
thinks it holds, as of the last check after a reconciliation."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict

from .deps import ServiceDep

router = APIRouter(prefix="/broker", tags=["broker"])


class PositionDifferenceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    symbol: str
    engine_qty: Decimal
    broker_qty: Decimal


class BrokerPositionsOut(BaseModel):
    broker: str
    checked_at: datetime | None = None
    in_line: bool | None = None  # None until the first check
    differences: list[PositionDifferenceOut] = []
    unconfirmed: list[PositionDifferenceOut] = []
    error: str | None = None


@router.get(
    "/positions",
    summary="Differences between the engine's positions and the broker's (last check)",
    responses={404: {"description": "The engine fills orders itself: there is no broker"}},
)
async def broker_positions(request: Request, service: ServiceDep) -> BrokerPositionsOut:
    routing = request.app.state.started.routing
    if routing is None:
        raise HTTPException(
            404,
            "this engine fills orders itself (TRADING_ENGINE_BROKER=paper): there is no broker "
            "to compare positions with",
        )
    watch = routing.positions
    check = watch.last
    if check is None:  # no reconciliation has run yet
        return BrokerPositionsOut(broker=watch.broker_name)
    return BrokerPositionsOut(
        broker=watch.broker_name,
        checked_at=check.checked_at,
        in_line=check.in_line,
        differences=[PositionDifferenceOut.model_validate(d) for d in check.differences],
        unconfirmed=[PositionDifferenceOut.model_validate(d) for d in check.unconfirmed],
        error=check.error,
    )
