"""The read API: latest quote, latest bar, bars for a range with paging, news, assets."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime

from ..domain.paging import BarQuery, InvalidPageTokenError, page_token_end
from ..domain.timeframes import Timeframe
from ..service.reads import MAX_PAGE, ReadNotFoundError, ReadUnavailableError
from .deps import ReadsDep, checked_symbol

router = APIRouter(tags=["market data"])

_WEEK = timedelta(days=7)

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No provider has it"}}
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"description": "Every provider that could serve it failed (with reasons)"}
}
BAD_REQUEST: dict[int | str, dict[str, Any]] = {400: {"description": "Bad symbol, range or token"}}


def _unavailable(exc: ReadUnavailableError) -> JSONResponse:
    return JSONResponse(
        {"error": "providers unavailable", "detail": str(exc), "reasons": exc.reasons}, 503
    )


def _not_found(exc: ReadNotFoundError) -> HTTPException:
    return HTTPException(404, detail=str(exc))


@router.get(
    "/quotes/{symbol:path}/latest",
    summary="Latest quote of a symbol (cache first, then the providers)",
    responses={**NOT_FOUND, **UNAVAILABLE},
)
async def latest_quote(symbol: str, reads: ReadsDep) -> Any:
    try:
        served = await reads.latest_quote(checked_symbol(symbol))
    except ReadNotFoundError as exc:
        raise _not_found(exc) from None
    except ReadUnavailableError as exc:
        return _unavailable(exc)
    return {"served_from": served.served_from, "quote": served.value.payload()}


@router.get(
    "/bars/{symbol:path}/latest",
    summary="Latest closed bar of a symbol (cache first, then the providers)",
    responses={**NOT_FOUND, **UNAVAILABLE},
)
async def latest_bar(
    symbol: str,
    reads: ReadsDep,
    timeframe: Annotated[Timeframe, Query(description="Bar timeframe")] = "1Min",
) -> Any:
    try:
        served = await reads.latest_bar(checked_symbol(symbol), timeframe)
    except ReadNotFoundError as exc:
        raise _not_found(exc) from None
    except ReadUnavailableError as exc:
        return _unavailable(exc)
    return {"served_from": served.served_from, "bar": served.value.payload()}


@router.get(
    "/bars/{symbol:path}",
    summary="Closed bars opening in [start, end), oldest first, a page at a time",
    responses={**BAD_REQUEST, **UNAVAILABLE},
)
async def bars(
    request: Request,
    symbol: str,
    reads: ReadsDep,
    timeframe: Annotated[Timeframe, Query(description="Bar timeframe")],
    start: Annotated[AwareDatetime, Query(description="Inclusive, RFC 3339 with zone")],
    end: Annotated[
        AwareDatetime | None, Query(description="Exclusive, RFC 3339 with zone; default now")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    page_token: Annotated[str | None, Query(max_length=512)] = None,
) -> Any:
    # A follow-up page without ``end`` continues the range of the first page (whose default
    # ``end`` was "now" then), not a range ending at a new "now".
    ends = end or (page_token_end(page_token) if page_token else None) or request.app.state.clock()
    query = BarQuery(checked_symbol(symbol), timeframe, start, ends)
    try:
        page = await reads.bars_page(query, limit=limit, page_token=page_token)
    except (ValueError, InvalidPageTokenError) as exc:
        raise HTTPException(400, detail=str(exc)) from None
    except ReadNotFoundError as exc:
        raise _not_found(exc) from None
    except ReadUnavailableError as exc:
        return _unavailable(exc)
    return {
        "symbol": query.symbol,
        "timeframe": timeframe,
        "start": query.start.isoformat(),
        "end": query.end.isoformat(),
        "served_from": page.served_from,
        "bars": [bar.payload() for bar in page.bars],
        "next_page_token": page.next_page_token,
    }


@router.get(
    "/news",
    summary="Company news for one or more symbols, newest first",
    responses={**BAD_REQUEST, **NOT_FOUND, **UNAVAILABLE},
)
async def news(
    request: Request,
    reads: ReadsDep,
    symbols: Annotated[str, Query(description="Comma-separated symbols")],
    start: Annotated[AwareDatetime | None, Query(description="Default: a week before end")] = None,
    end: Annotated[AwareDatetime | None, Query(description="Default: now")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Any:
    wanted = [checked_symbol(s) for s in symbols.split(",") if s.strip()]
    if not wanted:
        raise HTTPException(400, detail="symbols is empty")
    ends: datetime = end or request.app.state.clock()
    try:
        starts: datetime = start or ends.replace(microsecond=0) - _WEEK
    except OverflowError:  # end in the first week of year 1
        raise HTTPException(
            400, detail=f"end {ends.isoformat()} leaves no week before it for the default start"
        ) from None
    try:
        served = await reads.news(wanted, starts, ends, limit)
    except ValueError as exc:
        raise HTTPException(400, detail=str(exc)) from None
    except ReadNotFoundError as exc:
        raise _not_found(exc) from None
    except ReadUnavailableError as exc:
        return _unavailable(exc)
    return {
        "served_from": served.served_from,
        "news": [
            {
                "id": item.id,
                "headline": item.headline,
                "summary": item.summary,
                "source": item.source,
                "url": item.url,
                "published_at": item.published_at.isoformat(),
                "symbols": list(item.symbols),
                "provider": item.provider,
            }
            for item in served.value
        ],
    }


@router.get(
    "/assets/{symbol:path}",
    summary="Asset metadata of a symbol",
    responses={**NOT_FOUND, **UNAVAILABLE},
)
async def asset(symbol: str, reads: ReadsDep) -> Any:
    try:
        served = await reads.asset(checked_symbol(symbol))
    except ReadNotFoundError as exc:
        raise _not_found(exc) from None
    except ReadUnavailableError as exc:
        return _unavailable(exc)
    info = served.value
    return {
        "served_from": served.served_from,
        "asset": {
            "symbol": info.symbol,
            "name": info.name,
            "asset_class": info.asset_class,
            "exchange": info.exchange,
            "currency": info.currency,
            "tradable": info.tradable,
            "market_cap": str(info.market_cap) if info.market_cap is not None else None,
            "details": info.details,
            "source": info.source,
        },
    }
