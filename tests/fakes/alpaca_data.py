"""A fake of Alpaca's Market Data API (v2 stocks, v1beta3 crypto, v1beta1 news) and the
trading API's assets endpoint, answering in the JSON alpaca-py's models read
(``alpaca/data/mappings.py``: ``t``, ``o``, ``h``, ``l``, ``c``, ``v`` for bars; ``bp``,
``bs``, ``ap``, ``as`` for quotes), with ``next_page_token`` pagination.

Point alpaca-py at it with ``url_override=<base url>`` (data and trading clients alike).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .common import FakeBase, json_response

UNAUTHORIZED = {"code": 40110000, "message": "request is not authorized"}


def stock_quote(t: str, bid: float, ask: float, bid_size: float = 2, ask_size: float = 3) -> dict:
    return {
        "t": t,
        "ax": "V",
        "ap": ask,
        "as": ask_size,
        "bx": "V",
        "bp": bid,
        "bs": bid_size,
        "c": ["R"],
        "z": "C",
    }


def crypto_quote(
    t: str, bid: float, ask: float, bid_size: float = 0.5, ask_size: float = 0.4
) -> dict:
    return {"t": t, "bp": bid, "bs": bid_size, "ap": ask, "as": ask_size}


def bar(t: str, o: float, h: float, low: float, c: float, v: float = 1000) -> dict:
    return {
        "t": t,
        "o": o,
        "h": h,
        "l": low,
        "c": c,
        "v": v,
        "n": 10,
        "vw": round((h + low) / 2, 4),
    }


def asset(symbol: str, name: str, asset_class: str = "us_equity", exchange: str = "NASDAQ") -> dict:
    return {
        "id": "b0b6dd9d-8b9b-48a9-ba46-b9d54906e415",
        "class": asset_class,
        "exchange": exchange,
        "symbol": symbol,
        "name": name,
        "status": "active",
        "tradable": True,
        "marginable": True,
        "shortable": True,
        "easy_to_borrow": True,
        "fractionable": True,
        "attributes": [],
    }


def news_item(item_id: int, created_at: str, headline: str, symbols: list[str]) -> dict:
    return {
        "id": item_id,
        "headline": headline,
        "author": "Benzinga Newsdesk",
        "created_at": created_at,
        "updated_at": created_at,
        "summary": f"{headline} (summary)",
        "content": "",
        "url": f"https://www.benzinga.com/news/{item_id}",
        "images": [],
        "symbols": symbols,
        "source": "benzinga",
    }


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class FakeAlpacaData(FakeBase):
    def __init__(self, key: str = "test-key", secret: str = "test-secret", page_size: int = 1000):
        super().__init__()
        self.key = key
        self.secret = secret
        self.page_size = page_size
        self.stock_quotes: dict[str, dict] = {}
        self.crypto_quotes: dict[str, dict] = {}
        self.bars: dict[tuple[str, str], list[dict]] = {}
        self.news: list[dict] = []
        self.assets: dict[str, dict] = {}
        self.app = Starlette(
            routes=[
                Route("/v2/stocks/quotes/latest", self._stock_latest_quotes),
                Route("/v1beta3/crypto/us/latest/quotes", self._crypto_latest_quotes),
                Route("/v2/stocks/bars", self._stock_bars),
                Route("/v1beta3/crypto/us/bars", self._crypto_bars),
                Route("/v1beta1/news", self._news),
                Route("/v2/assets/{symbol}", self._asset),
            ]
        )

    def _authorised(self, request: Request) -> bool:
        return (
            request.headers.get("APCA-API-KEY-ID") == self.key
            and request.headers.get("APCA-API-SECRET-KEY") == self.secret
        )

    def _symbols(self, request: Request) -> list[str]:
        return [s for s in request.query_params.get("symbols", "").split(",") if s]

    async def _stock_latest_quotes(self, request: Request) -> Response:
        if (fault := self._record(request)) is not None:
            return fault
        if not self._authorised(request):
            return json_response(UNAUTHORIZED, 401)
        found = {s: self.stock_quotes[s] for s in self._symbols(request) if s in self.stock_quotes}
        return json_response({"quotes": found})

    async def _crypto_latest_quotes(self, request: Request) -> Response:
        if (fault := self._record(request)) is not None:
            return fault
        found = {
            s: self.crypto_quotes[s] for s in self._symbols(request) if s in self.crypto_quotes
        }
        return json_response({"quotes": found})

    def _page(self, items: list[Any], request: Request) -> tuple[list[Any], str | None]:
        offset = int(request.query_params.get("page_token") or 0)
        limit = int(request.query_params.get("limit") or self.page_size)
        size = min(limit, self.page_size)
        page = items[offset : offset + size]
        more = offset + size < len(items)
        return page, (str(offset + size) if more else None)

    def _select_bars(self, request: Request) -> tuple[str, list[dict]]:
        (symbol,) = self._symbols(request)
        timeframe = request.query_params["timeframe"]
        start = _parse_time(request.query_params.get("start"))
        end = _parse_time(request.query_params.get("end"))
        rows = [
            b
            for b in self.bars.get((symbol, timeframe), [])
            if (start is None or _parse_time(b["t"]) >= start)
            and (end is None or _parse_time(b["t"]) <= end)
        ]
        rows.sort(key=lambda b: b["t"], reverse=request.query_params.get("sort") == "desc")
        return symbol, rows

    async def _bars(self, request: Request, *, keyed: bool) -> Response:
        if (fault := self._record(request)) is not None:
            return fault
        if keyed and not self._authorised(request):
            return json_response(UNAUTHORIZED, 401)
        symbol, rows = self._select_bars(request)
        page, token = self._page(rows, request)
        return json_response({"bars": {symbol: page} if page else {}, "next_page_token": token})

    async def _stock_bars(self, request: Request) -> Response:
        return await self._bars(request, keyed=True)

    async def _crypto_bars(self, request: Request) -> Response:
        return await self._bars(request, keyed=False)

    async def _news(self, request: Request) -> Response:
        if (fault := self._record(request)) is not None:
            return fault
        if not self._authorised(request):
            return json_response(UNAUTHORIZED, 401)
        wanted = set(self._symbols(request))
        start = _parse_time(request.query_params.get("start"))
        end = _parse_time(request.query_params.get("end"))
        items = [
            n
            for n in self.news
            if (not wanted or wanted & set(n.get("symbols") or []))
            and (start is None or _parse_time(n["created_at"]) >= start)
            and (end is None or _parse_time(n["created_at"]) <= end)
        ]
        items.sort(key=lambda n: n["created_at"], reverse=True)
        page, token = self._page(items, request)
        return json_response({"news": page, "next_page_token": token})

    async def _asset(self, request: Request) -> Response:
        if (fault := self._record(request)) is not None:
            return fault
        if not self._authorised(request):
            return json_response(UNAUTHORIZED, 401)
        found = self.assets.get(request.path_params["symbol"])
        if found is None:
            return json_response({"code": 40410000, "message": "asset not found"}, 404)
        return json_response(found)
