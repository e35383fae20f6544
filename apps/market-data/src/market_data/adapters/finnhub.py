"""Finnhub connector on finnhub-python: quote, candles, company news, company profile.

The API key (``finnhub:api-key``) comes from the secret source on first use. Finnhub's
documented limits are 60 calls/minute (free plan) and at most 30 calls/second; the connector's
rate budget defaults to 60/minute. Finnhub's ``/quote`` has a last price but no bid or ask, so
it is published as a zero-width quote (bid = ask = last, sizes 0). finnhub-python has no
websocket client, so this connector has no stream (the feed polls ``/quote``).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import finnhub
import requests
from finnhub.exceptions import FinnhubAPIException, FinnhubRequestException

from trader_common.contracts import BarClosed, Event, QuoteUpdated
from trader_common.ports import PlatformUnavailableError, SecretSource

from ..domain.models import AssetInfo, Capability, NewsItem
from ..domain.normalise import (
    MalformedPayloadError,
    clean_text,
    collect,
    from_epoch,
    half_open_filter,
    identifier,
    make_bar,
    make_last_price_quote,
    require,
    text_of,
    to_decimal,
)
from ..domain.ratelimit import RateBudget, parse_retry_after
from ..domain.sessions import us_equity_session, utc_day
from ..domain.timeframes import DURATIONS, Timeframe
from ..service.ports import (
    ConnectorError,
    CredentialsMissingError,
    MalformedResponseError,
    NotSupportedError,
    ProviderAuthError,
    ProviderRequestError,
    ProviderUnavailableError,
    RateLimitedError,
)
from ..service.rejections import RejectionLog
from .blocking import BlockingCalls
from .http import Redactor, SharedBudget, ThrottledAdapter, mount_throttle

NAME = "finnhub"

RESOLUTIONS: dict[Timeframe, str] = {
    "1Min": "1",
    "5Min": "5",
    "15Min": "15",
    "1Hour": "60",
    "1Day": "D",
}


@dataclass(frozen=True, slots=True)
class FinnhubConfig:
    api_url: str = "https://api.finnhub.io/api/v1"
    rate_per_minute: float = 60.0
    burst: int = 5
    timeout_seconds: float = 10.0
    max_retries_429: int = 3
    max_retry_wait_seconds: float = 30.0
    key_secret: str = "finnhub:api-key"


def is_crypto(symbol: str) -> bool:
    """Finnhub names crypto pairs by exchange, e.g. ``BINANCE:BTCUSDT``."""
    return ":" in symbol


# --- normalisation of Finnhub's documented JSON (pure) ---------------------------------------


def quote_from_finnhub(symbol: str, raw: object) -> QuoteUpdated | None:
    """``/quote`` -> a zero-width quote; ``None`` for Finnhub's all-zero answer to a symbol it
    does not know."""
    record = require(raw, "c", "t")
    price = to_decimal(record["c"], "c")
    if price == 0 and to_decimal(record["t"], "t") == 0:
        return None
    return make_last_price_quote(
        symbol=symbol, source=NAME, ts=from_epoch(record["t"], "t"), price=price
    )


def bars_from_candles(
    symbol: str, raw: object, timeframe: Timeframe
) -> tuple[list[BarClosed], list[Any]]:
    """``/stock/candle`` or ``/crypto/candle`` arrays -> bars (and the rejected rows).

    ``s = "no_data"`` is an empty result. Candles are stamped with their open time; a stock's
    daily candle (stamped 00:00 UTC of its date) spans that date's regular session.
    """
    record = require(raw, "s")
    if record["s"] == "no_data":
        return [], []
    if record["s"] != "ok":
        raise MalformedPayloadError(f"candle status is {record['s']!r}, not 'ok' or 'no_data'")
    columns = require(record, "t", "o", "h", "l", "c", "v")
    arrays = [columns[k] for k in ("t", "o", "h", "l", "c", "v")]
    if not all(isinstance(a, list) for a in arrays):
        raise MalformedPayloadError("candle fields t, o, h, l, c, v must be arrays")
    lengths = {len(a) for a in arrays}
    if len(lengths) != 1:
        raise MalformedPayloadError(f"candle arrays differ in length ({sorted(lengths)})")
    rows = list(zip(*arrays, strict=True))

    def convert(row: tuple[Any, ...]) -> BarClosed:
        t, o, h, low, c, v = row
        opens = from_epoch(t, "t")
        closes = None
        if timeframe == "1Day":
            day = opens.date()
            opens, closes = utc_day(day) if is_crypto(symbol) else us_equity_session(day)
        return make_bar(
            symbol=symbol,
            source=NAME,
            timeframe=timeframe,
            ts_open=opens,
            ts_close=closes,
            open_=to_decimal(o, "o"),
            high=to_decimal(h, "h"),
            low=to_decimal(low, "l"),
            close=to_decimal(c, "c"),
            volume=to_decimal(v, "v"),
        )

    bars, rejected = collect(NAME, rows, convert)
    return bars, rejected


def news_from_finnhub(symbol: str, raw: object) -> NewsItem:
    record = require(raw, "id", "datetime", "headline", "source")
    related = record.get("related")
    symbols = (
        tuple(clean_text(s.strip()) for s in related.split(",") if s.strip())
        if isinstance(related, str)
        else ()
    )
    summary, url = record.get("summary"), record.get("url")
    return NewsItem(
        id=identifier(record["id"], "id"),
        headline=text_of(record["headline"], "headline"),
        summary=clean_text(summary) if isinstance(summary, str) else "",
        source=text_of(record["source"], "source"),
        url=clean_text(url) if isinstance(url, str) and url else None,
        published_at=from_epoch(record["datetime"], "datetime"),
        symbols=symbols or (symbol,),
        provider=NAME,
    )


def asset_from_profile(symbol: str, raw: object) -> AssetInfo | None:
    """``/stock/profile2``; Finnhub answers ``{}`` for a symbol it does not know."""
    if isinstance(raw, dict) and not raw:
        return None
    record = require(raw, "name", "ticker")
    cap = record.get("marketCapitalization")
    return AssetInfo(
        symbol=symbol,
        name=clean_text(str(record["name"])) or None,
        asset_class="us_equity" if record.get("country") == "US" else "equity",
        exchange=clean_text(str(record["exchange"])) if record.get("exchange") else None,
        currency=clean_text(str(record["currency"])) if record.get("currency") else None,
        tradable=None,
        source=NAME,
        # Finnhub reports market capitalisation in millions of the currency.
        market_cap=to_decimal(cap, "marketCapitalization") * 1_000_000 if cap else None,
        details={
            k: clean_text(str(record[k]))
            for k in ("finnhubIndustry", "ipo", "country", "weburl")
            if k in record
        },
    )


# --- the connector ----------------------------------------------------------------------------


class FinnhubConnector:
    def __init__(
        self,
        secrets: SecretSource,
        config: FinnhubConfig | None = None,
        *,
        rejections: RejectionLog | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._secrets = secrets
        self.config = config or FinnhubConfig()
        self._rejections = rejections or RejectionLog()
        self._clock = clock
        self._redact = Redactor()
        self.transport = ThrottledAdapter(
            SharedBudget(
                RateBudget.per_minute(self.config.rate_per_minute, self.config.burst), monotonic
            ),
            timeout=self.config.timeout_seconds,
            max_retries_429=self.config.max_retries_429,
            max_wait=self.config.max_retry_wait_seconds,
            sleep=sleep,
        )
        self._calls = BlockingCalls(NAME)
        self._client: finnhub.Client | None = None
        self._lock = asyncio.Lock()

    @property
    def name(self) -> str:
        return NAME

    @property
    def capabilities(self) -> frozenset[Capability]:
        return frozenset({Capability.QUOTES, Capability.BARS, Capability.NEWS, Capability.ASSETS})

    async def _get_client(self) -> finnhub.Client:
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is not None:
                return self._client
            try:
                key = await self._secrets.get(self.config.key_secret)
            except PlatformUnavailableError as exc:
                raise ProviderUnavailableError(NAME, f"credentials unavailable: {exc}") from None
            if not key:
                raise CredentialsMissingError(
                    NAME, f"no API key: set {self.config.key_secret} in the secret store"
                )
            self._redact.add([key])
            client = finnhub.Client(api_key=key)
            client.API_URL = self.config.api_url.rstrip("/")
            client.DEFAULT_TIMEOUT = self.config.timeout_seconds
            mount_throttle(client._session, self.transport)
            self._client = client
            return client

    def _translate(self, exc: BaseException, operation: str) -> ConnectorError:
        if isinstance(exc, FinnhubAPIException):
            status = exc.status_code
            detail = f"{operation}: HTTP {status} {self._redact(str(exc.message))[:300]}"
            if status == 429:
                retry_after = parse_retry_after(
                    exc.response.headers.get("Retry-After"), datetime.now(UTC)
                )
                return RateLimitedError(NAME, detail, retry_after)
            if status == 401:
                return ProviderAuthError(NAME, detail)
            if 400 <= status < 500:
                # 403: the plan does not include this endpoint (candles are premium).
                return ProviderRequestError(NAME, detail)
            return ProviderUnavailableError(NAME, detail)
        if isinstance(exc, FinnhubRequestException):
            return MalformedResponseError(
                NAME, f"{operation}: {self._redact(str(exc.message))[:300]}"
            )
        if isinstance(exc, requests.exceptions.RequestException):
            return ProviderUnavailableError(
                NAME, f"{operation}: {type(exc).__name__}: {self._redact(str(exc))[:300]}"
            )
        return MalformedResponseError(
            NAME, f"{operation}: {type(exc).__name__}: {self._redact(str(exc))[:200]}"
        )

    async def _call(self, operation: str, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        try:
            return await self._calls.run(fn, *args, **kw)
        except Exception as exc:
            raise self._translate(exc, operation) from None

    async def latest_quotes(self, symbols: Sequence[str]) -> list[QuoteUpdated]:
        client = await self._get_client()
        quotes: list[QuoteUpdated] = []
        malformed: list[str] = []
        for symbol in symbols:
            raw = await self._call(f"quote {symbol}", client.quote, symbol)
            try:
                quote = quote_from_finnhub(symbol, raw)
            except MalformedPayloadError as exc:
                self._rejections.reject(NAME, f"quote {symbol}: {exc}", raw)
                malformed.append(f"{symbol}: {exc}")
                continue
            if quote is not None:
                quotes.append(quote)
        if symbols and len(malformed) == len(symbols):
            raise MalformedResponseError(
                NAME, f"every quote was malformed ({'; '.join(malformed)})"
            )
        return quotes

    async def bars(
        self,
        symbol: str,
        timeframe: Timeframe,
        start: datetime,
        end: datetime,
        limit: int | None = None,
    ) -> list[BarClosed]:
        client = await self._get_client()
        fetch = client.crypto_candles if is_crypto(symbol) else client.stock_candles
        operation = f"{timeframe} candles for {symbol}"
        raw = await self._call(
            operation,
            fetch,
            symbol,
            RESOLUTIONS[timeframe],
            int(start.timestamp()),
            int(end.timestamp()),
        )
        try:
            bars, rejected = bars_from_candles(symbol, raw, timeframe)
        except MalformedPayloadError as exc:
            self._rejections.reject(NAME, f"{operation}: {exc}", raw)
            raise MalformedResponseError(NAME, f"{operation}: {exc}") from None
        self._rejections.report(rejected)
        inside = sorted(
            (b for b in bars if half_open_filter(b.ts_open, start, end)), key=lambda b: b.ts_open
        )
        return inside[:limit] if limit is not None else inside

    async def latest_bar(self, symbol: str, timeframe: Timeframe) -> BarClosed | None:
        now = self._clock()
        lookback = max(DURATIONS[timeframe] * 10, timedelta(days=10))
        bars = await self.bars(symbol, timeframe, now - lookback, now)
        closed = [b for b in bars if b.ts_event <= now]
        return closed[-1] if closed else None

    async def news(
        self, symbols: Sequence[str], start: datetime, end: datetime, limit: int = 50
    ) -> list[NewsItem]:
        client = await self._get_client()
        found: dict[str, NewsItem] = {}
        for symbol in symbols:
            raw = await self._call(
                f"news for {symbol}",
                client.company_news,
                symbol,
                _from=start.date().isoformat(),
                to=end.date().isoformat(),
            )
            if not isinstance(raw, list):
                self._rejections.reject(NAME, f"news for {symbol}: not a list", raw)
                raise MalformedResponseError(NAME, f"news for {symbol}: expected a list")
            items, rejected = collect(NAME, raw, functools.partial(news_from_finnhub, symbol))
            self._rejections.report(rejected)
            for item in items:
                if half_open_filter(item.published_at, start, end):
                    found.setdefault(item.id, item)
        return sorted(found.values(), key=lambda n: n.published_at, reverse=True)[:limit]

    async def assets(self, symbols: Sequence[str]) -> list[AssetInfo]:
        client = await self._get_client()
        found: list[AssetInfo] = []
        for symbol in symbols:
            raw = await self._call(f"profile {symbol}", client.company_profile2, symbol=symbol)
            try:
                asset = asset_from_profile(symbol, raw)
            except MalformedPayloadError as exc:
                self._rejections.reject(NAME, f"profile {symbol}: {exc}", raw)
                continue
            if asset is not None:
                found.append(asset)
        return found

    async def stream(self, symbols: Sequence[str]) -> AsyncIterator[list[Event]]:
        raise NotSupportedError(NAME, "finnhub-python has no live stream client; poll quotes")
        yield []  # pragma: no cover - makes this an async generator

    async def aclose(self) -> None:
        self._calls.shutdown()
        if self._client is not None:
            self._client.close()
