"""GET /quotes/{symbol}: proxied to the trading engine by Dapr service invocation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request

from trader_common.app import PlatformDep

router = APIRouter(tags=["quotes"])

# At least one letter or digit: "." and ".." would be dot segments in the invocation URL and
# reach another route of the engine.
SymbolPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=32,
        pattern=r"^[A-Z0-9.:-]*[A-Z0-9][A-Z0-9.:-]*$",
        description="e.g. AAPL",
    ),
]


@router.get(
    "/quotes/{symbol}",
    responses={404: {"description": "No recent quote"}, 503: {"description": "Engine down"}},
)
async def get_quote(symbol: SymbolPath, request: Request, platform: PlatformDep) -> Any:
    engine = request.app.state.settings.trading_engine_app_id
    status, body = await platform.invoker.invoke(engine, f"quotes/{symbol}")
    if status == 200:
        return body
    if status == 404:
        raise HTTPException(404, f"no recent quote for {symbol}")
    raise HTTPException(502, f"trading engine answered HTTP {status}: {body}")
