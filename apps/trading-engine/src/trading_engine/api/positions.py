"""/positions: list, one, close."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query
from fastapi.responses import JSONResponse

from ..domain.commands import ClosePosition
from .deps import ServiceDep
from .errors import ERROR_RESPONSES
from .orders import _answer
from .schemas import OrderOut, PositionOut, Positive, Problem

router = APIRouter(prefix="/positions", tags=["positions"])
# The symbol may hold a slash (BTC/USD): the routes take the rest of the path.
SymbolPath = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Z0-9./:-]+$")]


@router.get("", summary="Open positions")
async def list_positions(service: ServiceDep) -> list[PositionOut]:
    return [PositionOut.model_validate(p) for p in service.engine.positions()]


@router.get("/{symbol:path}", summary="One position", responses={404: ERROR_RESPONSES[404]})
async def get_position(symbol: SymbolPath, service: ServiceDep) -> PositionOut:
    view = service.engine.position(symbol)
    if view is None or view.qty == 0:
        raise HTTPException(404, f"no open position in {symbol}")
    return PositionOut.model_validate(view)


@router.delete(
    "/{symbol:path}",
    response_model=OrderOut,
    summary="Close a position (all, or qty) with a market order",
    responses={
        404: ERROR_RESPONSES[404],
        422: {"model": Problem, "description": "Invalid or refused (with the reason)"},
    },
)
async def close_position(
    symbol: SymbolPath,
    service: ServiceDep,
    qty: Annotated[Positive | None, Query()] = None,
    client_order_id: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
) -> JSONResponse:
    view = service.engine.position(symbol)
    if view is None or view.qty == 0:
        raise HTTPException(404, f"no open position in {symbol}")
    outcome = await service.close_position(
        ClosePosition(symbol=symbol, qty=qty, client_order_id=client_order_id)
    )
    return _answer(service, outcome, 200)
