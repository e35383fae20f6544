"""Dependencies of the routers: the TradingService built by create_app (503 until it has
rebuilt its state from the store)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from trader_common.ports import PlatformUnavailableError

from ..service.trading_service import TradingService


def get_service(request: Request) -> TradingService:
    started = request.app.state.started
    if not started.ready.is_set():
        raise PlatformUnavailableError("the trading engine is still loading its state")
    service: TradingService = started.service
    return service


ServiceDep = Annotated[TradingService, Depends(get_service)]
