"""GET /rolling: rolling Sharpe ratio and volatility of the daily returns."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from .deps import QueriesDep, QueryDep
from .schemas import ERRORS, RollingPointBody, RollingResponse, ScopeBody, finite

router = APIRouter(tags=["analytics"])


@router.get(
    "/rolling",
    summary="Rolling Sharpe ratio and annualised volatility over a trailing window of days",
    response_model=RollingResponse,
    responses=ERRORS,
)
async def rolling(
    query: QueryDep,
    queries: QueriesDep,
    window: Annotated[
        int, Query(ge=2, le=10_000, description="Trailing window, in periods (days)")
    ] = 63,
) -> RollingResponse:
    stats = await queries.rolling(query, window=window)
    return RollingResponse(
        scope=ScopeBody.of(query),
        window=stats.window,
        points=[
            RollingPointBody(
                at=at.to_pydatetime(), sharpe=finite(float(sharpe)), volatility=finite(float(vol))
            )
            for at, sharpe, vol in zip(
                stats.sharpe.index,
                stats.sharpe.to_numpy(),
                stats.volatility.to_numpy(),
                strict=True,
            )
        ],
    )
