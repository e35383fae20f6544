"""GET /pnl: realised and unrealised P&L, fees and turnover by symbol, strategy or period."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from analytics.domain.pnl import PnlBy

from .deps import QueriesDep, QueryDep
from .schemas import ERRORS, MetricsBody, PnlResponse, PnlRowBody, ScopeBody, TradeStatsBody

router = APIRouter(tags=["analytics"])


@router.get(
    "/pnl",
    summary="P&L breakdown by symbol, strategy, day, ISO week or month (whole UTC days)",
    response_model=PnlResponse,
    responses=ERRORS,
)
async def pnl(
    query: QueryDep,
    queries: QueriesDep,
    by: Annotated[PnlBy, Query(description="How to group")] = "symbol",
) -> PnlResponse:
    rows = await queries.pnl(query, by)
    return PnlResponse(
        scope=ScopeBody.of(query),
        by=by,
        rows=[
            PnlRowBody(
                key=row.group.key,
                first_day=row.group.first_day,
                last_day=row.group.last_day,
                realized_pnl=row.group.realized,
                fees=row.group.fees,
                unrealized_pnl=row.group.unrealized,
                net_pnl=row.group.net_pnl,
                turnover=row.group.turnover,
                fills=row.group.fills,
                period_return=row.period_return,
                trades=TradeStatsBody.of(row.trades) if row.trades else None,
                metrics=MetricsBody.of(row.metrics) if row.metrics else None,
            )
            for row in rows
        ],
    )
