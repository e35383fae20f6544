"""GET /drawdowns: the drawdown table of the daily equity curve."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from .deps import QueriesDep, QueryDep
from .schemas import ERRORS, DrawdownBody, DrawdownsResponse, ScopeBody

router = APIRouter(tags=["analytics"])


@router.get(
    "/drawdowns",
    summary="Drawdowns of the daily equity curve: all in time order, or the deepest first",
    response_model=DrawdownsResponse,
    responses=ERRORS,
)
async def drawdowns(
    query: QueryDep,
    queries: QueriesDep,
    top: Annotated[
        int | None, Query(ge=1, le=1000, description="Only the N deepest, deepest first")
    ] = None,
) -> DrawdownsResponse:
    periods = await queries.drawdowns(query, top=top)
    return DrawdownsResponse(
        scope=ScopeBody.of(query), drawdowns=[DrawdownBody.of(period) for period in periods]
    )
