"""CoinGecko connector on its public REST API (httpx): simple price, markets, OHLC.

CoinGecko has no official Python client, so this speaks its documented v3 REST API directly.
The key (``coingecko:api-key``) is optional: without it the keyless public API is used
(documented at roughly 5-15 calls/minute; the budget is then 10/minute); with it the Demo API
(30 calls/minute, header ``x-cg-demo-api-key``) or, with ``plan=pro``, the Pro API
(``pro-api.coingecko.com``, header ``x-cg-pro-api-key``).

Symbols map to coin ids by their base asset (``BTC/USD`` -> ``bitcoin`` priced in ``usd``).
``/simple/price`` has no book, so quotes are zero-width (bid = ask = price, sizes 0).
``/coins/{id}/ohlc`` returns candles stamped with their *close* time and no volume, at an
automatic granularity (30 minutes for 1 day, 4 hours for 7-30 days, 4 days beyond); complete
candles are combined into 1Hour (from the last day only) or 1Day bars (from the last 30 days),
with volume 0. Other timeframes are not offered.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

import httpx

from trader_common.contracts import BarClosed, Event, QuoteUpdated
from trader_common.ports import PlatformUnavailableError, SecretSource

from ..domain.aggregate import Candle, aggregate
from ..domain.coins import DEFAULT_COINGECKO_IDS, resolve
from ..domain.models import AssetInfo, Capability, NewsItem
from ..domain.normalise import (
    MalformedPayloadError,
    Rejection,
    clean_text,
    collect,
    from_epoch,
    half_open_filter,
    make_bar,
    make_last_price_quote,
    require,
    to_decimal,
    to_utc,
)
from ..domain.ratelimit import RateBudget, parse_retry_after, retry_delay
from ..domain.timeframes import Timeframe
from ..service.ports import (
    MalformedResponseError,
    NotSupportedError,
    ProviderAuthError,
    ProviderRequestError,
    ProviderUnavailableError,
    RateLimitedError,
)
from ..service.rejections import RejectionLog
from .http import AsyncBudget, Redactor

NAME = "coingecko"

DEFAULT_IDS = DEFAULT_COINGECKO_IDS

_OHLC_DAYS = (1, 7, 14, 30)
_GRANULARITY = {
    1: timedelta(minutes=30),
    7: timedelta(hours=4),
    14: timedelta(hours=4),
    30: timedelta(hours=4),
}

Plan = Literal["public", "demo", "pro"]


@dataclass(frozen=True, slots=True)
class CoinGeckoConfig:
    api_url: str | None = None
    """``None``: the plan's documented base URL."""
    plan: Plan = "demo"
    ids: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_IDS))
    rate_per_minute: float = 30.0
    keyless_rate_per_minute: float = 10.0
    burst: int = 3
    timeout_seconds: float = 10.0
    max_retries_429: int = 3
    max_retry_wait_seconds: float = 60.0
    page_size: int = 250
    max_pages: int = 20
    key_secret: str = "coingecko:api-key"

    def base_url(self, keyed: bool) -> str:
        if self.api_url:
            return self.api_url.rstrip("/")
        if keyed and self.plan == "pro":
            return "https://pro-api.coingecko.com/api/v3"
        return "https://api.coingecko.com/api/v3"


# --- normalisation of CoinGecko's documented JSON (pure) --------------------------------------


def quote_from_simple_price(symbol: str, coin: str, vs: str, raw: object) -> QuoteUpdated | None:
    """One symbol of a ``/simple/price`` answer; ``None`` when the coin is not in it."""
    if not isinstance(raw, dict):
        raise MalformedPayloadError(
            f"expected an object keyed by coin id, got {type(raw).__name__}"
        )
    entry = raw.get(coin)
    if entry is None:
        return None
    record = require(entry, vs, "last_updated_at")
    return make_last_price_quote(
        symbol=symbol,
        source=NAME,
        ts=from_epoch(record["last_updated_at"], "last_updated_at"),
        price=to_decimal(record[vs], vs),
    )


def candle_from_ohlc(row: object, granularity: timedelta) -> Candle:
    """``[close time ms, open, high, low, close]`` -> a candle keyed by its open time.

    The row is held to a bar's rules here (positive prices, low <= open/close <= high), so a
    bad row is rejected on its own instead of spoiling the bar its bucket would make."""
    if not isinstance(row, list) or len(row) != 5:
        raise MalformedPayloadError("an OHLC row must be [time, open, high, low, close]")
    closes = from_epoch(row[0], "time", unit="ms")
    open_, high, low, close = (
        to_decimal(value, name)
        for value, name in zip(row[1:], ("open", "high", "low", "close"), strict=True)
    )
    if min(open_, high, low, close) <= 0:
        raise MalformedPayloadError(
            f"an OHLC price is not positive ({open_}, {high}, {low}, {close})"
        )
    if not (low <= min(open_, close) and high >= max(open_, close)):
        raise MalformedPayloadError(
            f"inconsistent OHLC row: low {low} / high {high} do not bound "
            f"open {open_} and close {close}"
        )
    return Candle(
        ts_open=closes - granularity,
        open=open_,
        high=high,
        low=low,
        close=close,
        volume=Decimal(0),
    )


def bars_from_ohlc(
    symbol: str, rows: Sequence[object], granularity: timedelta, timeframe: Timeframe
) -> tuple[list[BarClosed], list[Rejection]]:
    """``/coins/{id}/ohlc`` rows -> the complete ``timeframe`` bars (and the rejected records).

    Each row is checked on its own; a rejected row leaves its bucket incomplete, so that one
    bar is not made and every other bar still is."""
    candles, rejected = collect(NAME, rows, lambda row: candle_from_ohlc(row, granularity))

    def bar(candle: Candle) -> BarClosed:
        return make_bar(
            symbol=symbol,
            source=NAME,
            timeframe=timeframe,
            ts_open=candle.ts_open,
            open_=candle.open,
            high=candle.high,
            low=candle.low,
            close=candle.close,
            volume=candle.volume,
        )

    bars, unusable = collect(NAME, aggregate(candles, granularity, timeframe), bar)
    return bars, rejected + unusable


def asset_from_market(symbol: str, vs: str, raw: object) -> AssetInfo:
    record = require(raw, "id", "symbol", "name")
    cap = record.get("market_cap")
    details = {"coingecko_id": clean_text(str(record["id"]))}
    for key in ("market_cap_rank", "current_price", "last_updated"):
        if record.get(key) is not None:
            details[key] = clean_text(str(record[key]))
    if "last_updated" in record and record["last_updated"] is not None:
        to_utc(record["last_updated"], "last_updated")
    return AssetInfo(
        symbol=symbol,
        name=clean_text(str(record["name"])),
        asset_class="crypto",
        exchange=None,
        currency=vs.upper(),
        tradable=None,
        source=NAME,
        market_cap=to_decimal(cap, "market_cap") if cap is not None else None,
        details=details,
    )


# --- the connector ----------------------------------------------------------------------------


class CoinGeckoConnector:
    def __init__(
        self,
        secrets: SecretSource,
        config: CoinGeckoConfig | None = None,
        *,
        rejections: RejectionLog | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._secrets = secrets
        self.config = config or CoinGeckoConfig()
        self._rejections = rejections or RejectionLog()
        self._clock = clock
        self._monotonic = monotonic
        self._sleep = sleep
        self._redact = Redactor()
        self._client: httpx.AsyncClient | None = None
        self.budget: AsyncBudget | None = None
        self.retried_429 = 0
        self._lock = asyncio.Lock()

    @property
    def name(self) -> str:
        return NAME

    @property
    def capabilities(self) -> frozenset[Capability]:
        return frozenset({Capability.QUOTES, Capability.BARS, Capability.ASSETS})

    async def _get_client(self) -> tuple[httpx.AsyncClient, AsyncBudget]:
        if self._client is not None and self.budget is not None:
            return self._client, self.budget
        async with self._lock:
            if self._client is not None and self.budget is not None:
                return self._client, self.budget
            try:
                key = await self._secrets.get(self.config.key_secret)
            except PlatformUnavailableError as exc:
                raise ProviderUnavailableError(NAME, f"credentials unavailable: {exc}") from None
            self._redact.add([key])
            headers = {"accept": "application/json"}
            if key:
                header = "x-cg-pro-api-key" if self.config.plan == "pro" else "x-cg-demo-api-key"
                headers[header] = key
            rate = self.config.rate_per_minute if key else self.config.keyless_rate_per_minute
            self.budget = AsyncBudget(
                RateBudget.per_minute(rate, self.config.burst),
                monotonic=self._monotonic,
                sleep=self._sleep,
            )
            self._client = httpx.AsyncClient(
                base_url=self.config.base_url(bool(key)),
                headers=headers,
                timeout=self.config.timeout_seconds,
            )
            return self._client, self.budget

    async def _get(self, path: str, params: Mapping[str, str | int]) -> Any:
        client, budget = await self._get_client()
        attempt = 0
        while True:
            await budget.acquire()
            try:
                response = await client.get(path, params=dict(params))
            except httpx.HTTPError as exc:
                raise ProviderUnavailableError(
                    NAME, f"GET {path}: {type(exc).__name__}: {self._redact(str(exc))[:300]}"
                ) from None
            if response.status_code == 429:
                retry_after = parse_retry_after(
                    response.headers.get("Retry-After"), datetime.now(UTC)
                )
                delay = retry_delay(retry_after, attempt)
                if (
                    attempt >= self.config.max_retries_429
                    or delay > self.config.max_retry_wait_seconds
                ):
                    raise RateLimitedError(
                        NAME, f"GET {path}: HTTP 429 after {attempt} retries", retry_after
                    )
                budget.block_for(delay)
                self.retried_429 += 1
                attempt += 1
                continue
            break
        detail = f"GET {path}: HTTP {response.status_code} {self._redact(response.text[:200])}"
        if response.status_code in (401, 403):
            # CoinGecko answers 401 for a bad key and 403 ("error_code 10005") for a plan
            # that lacks the endpoint; a bad key is the connector's problem, a plan is not.
            if response.status_code == 401:
                raise ProviderAuthError(NAME, detail)
            raise ProviderRequestError(NAME, detail)
        if 400 <= response.status_code < 500:
            raise ProviderRequestError(NAME, detail)
        if response.status_code >= 300:
            raise ProviderUnavailableError(NAME, detail)
        try:
            return response.json()
        except ValueError:
            self._rejections.reject(NAME, f"GET {path}: body is not JSON", response.text[:200])
            raise MalformedResponseError(NAME, f"GET {path}: body is not JSON") from None

    def _resolve_all(self, symbols: Sequence[str]) -> dict[str, tuple[str, str]]:
        return {s: r for s in symbols if (r := resolve(s, self.config.ids)) is not None}

    def _resolve_one(self, symbol: str) -> tuple[str, str]:
        found = resolve(symbol, self.config.ids)
        if found is None:
            raise ProviderRequestError(
                NAME, f"no CoinGecko id for {symbol} (configure MARKET_DATA_COINGECKO_IDS)"
            )
        return found

    async def latest_quotes(self, symbols: Sequence[str]) -> list[QuoteUpdated]:
        resolved = self._resolve_all(symbols)
        if not resolved:
            raise ProviderRequestError(NAME, f"no CoinGecko id for {', '.join(symbols)}")
        coins = sorted({coin for coin, _ in resolved.values()})
        currencies = sorted({vs for _, vs in resolved.values()})
        raw = await self._get(
            "/simple/price",
            {
                "ids": ",".join(coins),
                "vs_currencies": ",".join(currencies),
                "include_last_updated_at": "true",
                "precision": "full",
            },
        )
        if not isinstance(raw, dict):
            self._rejections.reject(NAME, "simple/price: not an object", raw)
            raise MalformedResponseError(NAME, "simple/price: expected an object keyed by coin id")
        quotes, rejected = collect(
            NAME,
            list(resolved.items()),
            lambda item: quote_from_simple_price(item[0], item[1][0], item[1][1], raw),
        )
        self._rejections.report(rejected)
        return quotes

    async def bars(
        self,
        symbol: str,
        timeframe: Timeframe,
        start: datetime,
        end: datetime,
        limit: int | None = None,
    ) -> list[BarClosed]:
        coin, vs = self._resolve_one(symbol)
        now = self._clock()
        choices: tuple[int, ...]
        if timeframe == "1Hour":
            choices = (1,)
        elif timeframe == "1Day":
            choices = (7, 14, 30)
        else:
            raise NotSupportedError(NAME, f"CoinGecko OHLC cannot make {timeframe} bars")
        days = next((d for d in choices if now - timedelta(days=d) <= start), None)
        if days is None:
            reach = choices[-1]
            raise ProviderRequestError(
                NAME,
                f"CoinGecko OHLC makes {timeframe} bars only for the last {reach} day(s); "
                f"start {start.isoformat()} is earlier",
            )
        granularity = _GRANULARITY[days]
        raw = await self._get(f"/coins/{coin}/ohlc", {"vs_currency": vs, "days": days})
        if not isinstance(raw, list):
            self._rejections.reject(NAME, f"ohlc {coin}: not a list", raw)
            raise MalformedResponseError(NAME, f"ohlc {coin}: expected a list of rows")
        made, rejected = bars_from_ohlc(symbol, raw, granularity, timeframe)
        self._rejections.report(rejected)
        bars = [b for b in made if b.ts_event <= now and half_open_filter(b.ts_open, start, end)]
        return bars[:limit] if limit is not None else bars

    async def latest_bar(self, symbol: str, timeframe: Timeframe) -> BarClosed | None:
        now = self._clock()
        window = timedelta(days=1) if timeframe == "1Hour" else timedelta(days=7)
        bars = await self.bars(symbol, timeframe, now - window + timedelta(seconds=1), now)
        return bars[-1] if bars else None

    async def assets(self, symbols: Sequence[str]) -> list[AssetInfo]:
        """``/coins/markets`` for the symbols, page by page (``per_page`` up to 250)."""
        resolved = self._resolve_all(symbols)
        by_vs: dict[str, dict[str, str]] = {}
        for symbol, (coin, vs) in resolved.items():
            by_vs.setdefault(vs, {})[coin] = symbol
        found: list[AssetInfo] = []
        for vs, coins in by_vs.items():
            for page in range(1, self.config.max_pages + 1):
                raw = await self._get(
                    "/coins/markets",
                    {
                        "vs_currency": vs,
                        "ids": ",".join(sorted(coins)),
                        "per_page": self.config.page_size,
                        "page": page,
                    },
                )
                if not isinstance(raw, list):
                    self._rejections.reject(NAME, "coins/markets: not a list", raw)
                    raise MalformedResponseError(NAME, "coins/markets: expected a list")
                for record in raw:
                    coin = str(record.get("id")) if isinstance(record, dict) else ""
                    if coin not in coins:
                        self._rejections.reject(NAME, "coins/markets: unexpected coin", record)
                        continue
                    try:
                        found.append(asset_from_market(coins[coin], vs, record))
                    except MalformedPayloadError as exc:
                        self._rejections.reject(NAME, f"coins/markets: {exc}", record)
                if len(raw) < self.config.page_size:
                    break
        return found

    async def news(
        self, symbols: Sequence[str], start: datetime, end: datetime, limit: int = 50
    ) -> list[NewsItem]:
        raise NotSupportedError(NAME, "CoinGecko's public API has no news")

    async def stream(self, symbols: Sequence[str]) -> AsyncIterator[list[Event]]:
        raise NotSupportedError(NAME, "CoinGecko has no live stream; poll quotes")
        yield []  # pragma: no cover - makes this an async generator

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
