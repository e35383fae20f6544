"""A fake of CoinGecko's public API v3 (``/simple/price``, ``/coins/markets`` with
``page``/``per_page`` pagination, ``/coins/{id}/ohlc``) answering in CoinGecko's documented
JSON. With ``key`` set it requires the ``x-cg-demo-api-key`` (or ``x-cg-pro-api-key``) header.

Point the connector at ``f"{base_url}/api/v3"``.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .common import FakeBase, json_response

PREFIX = "/api/v3"


def market(coin: str, symbol: str, name: str, price: float, cap: float, rank: int) -> dict:
    return {
        "id": coin,
        "symbol": symbol,
        "name": name,
        "image": f"https://assets.coingecko.com/coins/images/1/large/{coin}.png",
        "current_price": price,
        "market_cap": cap,
        "market_cap_rank": rank,
        "fully_diluted_valuation": cap,
        "total_volume": cap / 50,
        "high_24h": price * 1.01,
        "low_24h": price * 0.99,
        "price_change_24h": 0.0,
        "price_change_percentage_24h": 0.0,
        "circulating_supply": cap / price,
        "last_updated": "2024-04-07T16:49:31.736Z",
    }


class FakeCoinGecko(FakeBase):
    def __init__(self, key: str | None = None, header: str = "x-cg-demo-api-key") -> None:
        super().__init__()
        self.key = key
        self.header = header
        self.prices: dict[str, dict[str, Any]] = {}
        """coin id -> ``{"usd": 67187.33, "last_updated_at": 1711356300}``"""
        self.markets: list[dict[str, Any]] = []
        self.ohlc: dict[tuple[str, str, str], list[list[float]]] = {}
        """(coin id, vs currency, days) -> rows ``[close time ms, open, high, low, close]``"""
        self.app = Starlette(
            routes=[
                Route(f"{PREFIX}/simple/price", self._simple_price),
                Route(f"{PREFIX}/coins/markets", self._markets),
                Route(PREFIX + "/coins/{coin}/ohlc", self._ohlc),
            ]
        )

    def _check(self, request: Request) -> Response | None:
        if (fault := self._record(request)) is not None:
            return fault
        if self.key is not None and request.headers.get(self.header) != self.key:
            return json_response(
                {"status": {"error_code": 10002, "error_message": "API Key Missing"}}, 401
            )
        return None

    async def _simple_price(self, request: Request) -> Response:
        if (problem := self._check(request)) is not None:
            return problem
        ids = request.query_params.get("ids", "").split(",")
        currencies = request.query_params.get("vs_currencies", "").split(",")
        with_time = request.query_params.get("include_last_updated_at") == "true"
        body: dict[str, Any] = {}
        for coin in ids:
            if coin not in self.prices:
                continue
            entry = {c: v for c, v in self.prices[coin].items() if c in currencies}
            if with_time and "last_updated_at" in self.prices[coin]:
                entry["last_updated_at"] = self.prices[coin]["last_updated_at"]
            body[coin] = entry
        return json_response(body)

    async def _markets(self, request: Request) -> Response:
        if (problem := self._check(request)) is not None:
            return problem
        q = request.query_params
        ids = set(q.get("ids", "").split(",")) if q.get("ids") else None
        per_page = int(q.get("per_page", "100"))
        page = int(q.get("page", "1"))
        rows = [m for m in self.markets if ids is None or m["id"] in ids]
        return json_response(rows[(page - 1) * per_page : page * per_page])

    async def _ohlc(self, request: Request) -> Response:
        if (problem := self._check(request)) is not None:
            return problem
        q = request.query_params
        key = (request.path_params["coin"], q["vs_currency"], q["days"])
        if key[0] not in {k[0] for k in self.ohlc}:
            return json_response({"error": "coin not found"}, 404)
        return json_response(self.ohlc.get(key, []))
