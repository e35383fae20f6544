"""A fake of Finnhub's REST API v1 (``/quote``, ``/stock/candle``, ``/crypto/candle``,
``/company-news``, ``/stock/profile2``), answering in Finnhub's documented JSON. The token is
checked from the ``token`` query parameter as Finnhub does (401 ``{"error": ...}`` otherwise).

Point finnhub-python at it with ``client.API_URL = f"{base_url}/api/v1"``. finnhub-python
joins ``API_URL`` and paths that start with ``/`` (``.../api/v1//quote``); Finnhub's server
accepts that, and so does this fake.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .common import FakeBase, json_response

PREFIX = "/api/v1"


def quote(
    c: float,
    t: int,
    *,
    o: float | None = None,
    h: float | None = None,
    low: float | None = None,
    pc: float | None = None,
) -> dict[str, Any]:
    o = o if o is not None else c
    pc = pc if pc is not None else c
    return {
        "c": c,
        "d": round(c - pc, 4),
        "dp": round((c - pc) / pc * 100, 4) if pc else 0,
        "h": h if h is not None else c,
        "l": low if low is not None else c,
        "o": o,
        "pc": pc,
        "t": t,
    }


def candles(rows: list[tuple[int, float, float, float, float, float]]) -> dict[str, Any]:
    """``rows`` of (t, o, h, l, c, v) as Finnhub's column arrays."""
    if not rows:
        return {"s": "no_data"}
    t, o, h, low, c, v = (list(col) for col in zip(*rows, strict=True))
    return {"c": c, "h": h, "l": low, "o": o, "s": "ok", "t": t, "v": v}


def news(item_id: int, when: int, headline: str, related: str) -> dict[str, Any]:
    return {
        "category": "company",
        "datetime": when,
        "headline": headline,
        "id": item_id,
        "image": "",
        "related": related,
        "source": "Reuters",
        "summary": f"{headline} (summary)",
        "url": f"https://finnhub.io/api/news?id={item_id}",
    }


def profile(ticker: str, name: str) -> dict[str, Any]:
    return {
        "country": "US",
        "currency": "USD",
        "exchange": "NASDAQ NMS - GLOBAL MARKET",
        "finnhubIndustry": "Technology",
        "ipo": "1980-12-12",
        "logo": "",
        "marketCapitalization": 2800000.5,
        "name": name,
        "phone": "",
        "shareOutstanding": 15000,
        "ticker": ticker,
        "weburl": "https://www.example.com/",
    }


class _CollapseSlashes:
    """Repeated slashes in the path collapse, as on Finnhub's server."""

    def __init__(self, app: Any) -> None:
        self._app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            path = re.sub(r"/{2,}", "/", scope["path"])
            scope = {**scope, "path": path, "raw_path": path.encode()}
        await self._app(scope, receive, send)


class FakeFinnhub(FakeBase):
    def __init__(self, token: str = "test-token") -> None:
        super().__init__()
        self.token = token
        self.quotes: dict[str, dict[str, Any]] = {}
        self.candles: dict[
            tuple[str, str], list[tuple[int, float, float, float, float, float]]
        ] = {}
        self.news: dict[str, list[dict[str, Any]]] = {}
        self.profiles: dict[str, dict[str, Any]] = {}
        self.app = _CollapseSlashes(
            Starlette(
                routes=[
                    Route(f"{PREFIX}/quote", self._quote),
                    Route(f"{PREFIX}/stock/candle", self._candles),
                    Route(f"{PREFIX}/crypto/candle", self._candles),
                    Route(f"{PREFIX}/company-news", self._news),
                    Route(f"{PREFIX}/stock/profile2", self._profile),
                ]
            )
        )

    def _check(self, request: Request) -> Response | None:
        if (fault := self._record(request)) is not None:
            return fault
        if request.query_params.get("token") != self.token:
            return json_response({"error": "Invalid API key."}, 401)
        return None

    async def _quote(self, request: Request) -> Response:
        if (problem := self._check(request)) is not None:
            return problem
        symbol = request.query_params["symbol"]
        return json_response(self.quotes.get(symbol, quote(0, 0, o=0, h=0, low=0, pc=0)))

    async def _candles(self, request: Request) -> Response:
        if (problem := self._check(request)) is not None:
            return problem
        q = request.query_params
        start, end = int(q["from"]), int(q["to"])
        rows = [
            r for r in self.candles.get((q["symbol"], q["resolution"]), []) if start <= r[0] <= end
        ]
        return json_response(candles(rows))

    async def _news(self, request: Request) -> Response:
        if (problem := self._check(request)) is not None:
            return problem
        return json_response(self.news.get(request.query_params["symbol"], []))

    async def _profile(self, request: Request) -> Response:
        if (problem := self._check(request)) is not None:
            return problem
        return json_response(self.profiles.get(request.query_params.get("symbol", ""), {}))
