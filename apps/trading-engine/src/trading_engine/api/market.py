"""GET /market: what market the engine has seen — its clock and each symbol's last bar. A
replay driver (``trader dual-run``) waits on it before asking for decisions, so an order is
never placed before the bar it follows has reached the engine."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from .deps import ServiceDep

router = APIRouter(tags=["market"])


@router.get("/market", summary="The engine's clock and the last bar per symbol")
async def get_market(service: ServiceDep) -> dict[str, Any]:
    engine = service.engine
    return {
        "now": engine.now().isoformat(),
        "last_bars": {
            symbol: {
                "timeframe": bar.timeframe,
                "ts_open": bar.ts_open.isoformat(),
                "ts_close": bar.ts_close.isoformat(),
                "close": str(bar.close),
            }
            for symbol, bar in sorted(engine.state.last_bar.items())
        },
    }
