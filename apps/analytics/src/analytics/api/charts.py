"""GET /charts/{kind}.{fmt}: server-side charts as PNG or SVG."""

from __future__ import annotations

from enum import StrEnum

from fastapi import APIRouter, Response

from analytics.service.performance import ChartKind

from .deps import QueriesDep, QueryDep
from .schemas import ERRORS


class ChartName(StrEnum):
    EQUITY = "equity"
    MONTHLY = "monthly"
    PNL_BY_SYMBOL = "pnl-by-symbol"


class ChartFormatName(StrEnum):
    PNG = "png"
    SVG = "svg"


_KIND: dict[ChartName, ChartKind] = {
    ChartName.EQUITY: "equity",
    ChartName.MONTHLY: "monthly_returns",
    ChartName.PNL_BY_SYMBOL: "pnl_by_symbol",
}
MEDIA_TYPES = {ChartFormatName.PNG: "image/png", ChartFormatName.SVG: "image/svg+xml"}

router = APIRouter(tags=["analytics"])


@router.get(
    "/charts/{kind}.{fmt}",
    summary="Chart: equity curve with drawdowns, monthly-returns heatmap, or P&L by symbol",
    response_class=Response,
    responses={
        200: {
            "description": "The chart",
            "content": {"image/png": {}, "image/svg+xml": {}},
        },
        **ERRORS,
    },
)
async def chart(
    kind: ChartName, fmt: ChartFormatName, query: QueryDep, queries: QueriesDep
) -> Response:
    image = await queries.chart(query, _KIND[kind], "png" if fmt is ChartFormatName.PNG else "svg")
    return Response(content=image, media_type=MEDIA_TYPES[fmt])
