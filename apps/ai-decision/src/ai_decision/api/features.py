"""Point-in-time features and routing status, for people and dashboards."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from ..domain.commands import SYMBOL_PATTERN, UtcDatetime
from .deps import FeaturesDep, RouterDep

router = APIRouter(tags=["features"])


@router.get("/features/{symbol}", summary="A symbol's features as of a time (default now)")
async def get_features(
    symbol: Annotated[str, Path(min_length=1, max_length=32, pattern=SYMBOL_PATTERN)],
    features: FeaturesDep,
    as_of: Annotated[UtcDatetime | None, Query(description="ISO 8601 with offset")] = None,
) -> dict[str, Any]:
    when = as_of or datetime.now(UTC)
    vector, _ = await features.read(symbol, when)
    return vector.to_json()


@router.get("/routing/status", summary="Today's budget and each model's circuit")
async def routing_status(router_: RouterDep) -> dict[str, Any]:
    return await router_.status()
