"""GET /metrics: the metric set and trade statistics of an account, strategy or symbol."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from .deps import SYMBOL_PATTERN, QueriesDep, QueryDep
from .schemas import (
    ERRORS,
    BenchmarkBody,
    MetricsBody,
    MetricsResponse,
    ScopeBody,
    TradeStatsBody,
)

router = APIRouter(tags=["analytics"])


@router.get(
    "/metrics",
    summary="Performance metrics over the daily equity curve, and closed-trade statistics",
    response_model=MetricsResponse,
    responses=ERRORS,
)
async def metrics(
    query: QueryDep,
    queries: QueriesDep,
    benchmark: Annotated[
        str | None,
        Query(
            pattern=SYMBOL_PATTERN,
            description="Symbol whose recorded daily closes (quotes, bars) give alpha and beta",
        ),
    ] = None,
) -> MetricsResponse:
    report = await queries.report(query, benchmark_symbol=benchmark)
    return MetricsResponse(
        scope=ScopeBody.of(query),
        first=report.first,
        last=report.last,
        metrics=MetricsBody.of(report.metrics),
        trades=TradeStatsBody.of(report.trades),
        benchmark=(
            BenchmarkBody(symbol=report.benchmark_symbol, periods=report.benchmark_periods or 0)
            if report.benchmark_symbol
            else None
        ),
    )
