"""GET /equity: the equity curve of an account or strategy, a page at a time."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from analytics.service.queries import MAX_PAGE

from .deps import QueriesDep, ScopeQueryDep
from .schemas import ERRORS, EquityPointBody, EquityResponse, ScopeBody

router = APIRouter(tags=["analytics"])


@router.get(
    "/equity",
    summary="Equity curve (event resolution or daily), oldest first, a page at a time",
    response_model=EquityResponse,
    responses=ERRORS,
)
async def equity(
    query: ScopeQueryDep,
    queries: QueriesDep,
    resolution: Annotated[
        Literal["event", "day"],
        Query(description="event: a point per moment an event changed equity; day: daily close"),
    ] = "event",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Points per page")] = 1000,
    page_token: Annotated[
        str | None, Query(max_length=512, description="next_page_token of the previous page")
    ] = None,
) -> EquityResponse:
    page = await queries.equity(query, resolution=resolution, limit=limit, page_token=page_token)
    return EquityResponse(
        scope=ScopeBody.of(query),
        resolution=page.resolution,
        points=[EquityPointBody.of(point) for point in page.points],
        next_page_token=page.next_page_token,
    )
