"""Alpaca connector on alpaca-py: stock and crypto historical data clients, the live data
streams, assets (trading API) and news.

Credentials (``alpaca:api-key``, ``alpaca:secret-key``) come from the secret source on first
use. Crypto data works without them; stocks, assets, news and the stock stream need them.
Every HTTP request goes through the connector's rate budget (Alpaca's documented 200
requests/minute on the Basic plan by default) and 429s are retried honouring ``Retry-After``;
the SDK's own fixed retry (3 x 3 s, blocking, ignoring ``Retry-After``) is switched off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from alpaca.common.enums import Sort
from alpaca.common.exceptions import APIError
from alpaca.common.rest import RESTClient
from alpaca.data.enums import DataFeed
from alpaca.data.historical.crypto import CryptoHistoricalDataClient
from alpaca.data.historical.news import NewsClient
from alpaca.data.historical.stock import StockHistoricalDataClient
from alpaca.data.live.crypto import CryptoDataStream
from alpaca.data.live.stock import StockDataStream
from alpaca.data.live.websocket import DataStream
from alpaca.data.requests import (
    CryptoBarsRequest,
    CryptoLatestQuoteRequest,
    NewsRequest,
    StockBarsRequest,
    StockLatestQuoteRequest,
)
from alpaca.data.timeframe import TimeFrame, TimeFrameUnit
from alpaca.trading.client import TradingClient

from trader_common.contracts import BarClosed, Event, QuoteUpdated, TradePrinted
from trader_common.ports import PlatformUnavailableError, SecretSource

from ..domain.models import AssetInfo, Capability, NewsItem
from ..domain.normalise import (
    MalformedPayloadError,
    Rejection,
    check_provider_time,
    clean_text,
    collect,
    half_open_filter,
    identifier,
    make_bar,
    make_quote,
    make_trade,
    provider_time,
    require,
    shown,
    text_of,
    to_decimal,
    to_utc,
)
from ..domain.ratelimit import RateBudget, parse_retry_after
from ..domain.sessions import NEW_YORK, us_equity_session
from ..domain.timeframes import Timeframe
from ..service.ports import (
    ConnectorError,
    CredentialsMissingError,
    MalformedResponseError,
    ProviderAuthError,
    ProviderRequestError,
    ProviderUnavailableError,
    RateLimitedError,
)
from ..service.rejections import RejectionLog
from .blocking import BlockingCalls
from .http import Redactor, SharedBudget, ThrottledAdapter, mount_throttle

log = logging.getLogger(__name__)

NAME = "alpaca"

_TIMEFRAMES: dict[Timeframe, TimeFrame] = {
    "1Min": TimeFrame(1, TimeFrameUnit.Minute),
    "5Min": TimeFrame(5, TimeFrameUnit.Minute),
    "15Min": TimeFrame(15, TimeFrameUnit.Minute),
    "1Hour": TimeFrame(1, TimeFrameUnit.Hour),
    "1Day": TimeFrame(1, TimeFrameUnit.Day),
}


@dataclass(frozen=True, slots=True)
class AlpacaConfig:
    data_url: str = "https://data.alpaca.markets"
    trading_url: str = "https://paper-api.alpaca.markets"
    stock_stream_url: str | None = None
    """``None``: the SDK's endpoint for ``feed`` (wss://stream.data.alpaca.markets/v2/iex)."""
    crypto_stream_url: str | None = None
    feed: str = "iex"
    rate_per_minute: float = 200.0
    burst: int = 10
    timeout_seconds: float = 10.0
    max_retries_429: int = 3
    max_retry_wait_seconds: float = 30.0
    key_secret: str = "alpaca:api-key"
    secret_secret: str = "alpaca:secret-key"


def is_crypto(symbol: str) -> bool:
    return "/" in symbol


# --- normalisation of Alpaca's documented JSON (pure) ----------------------------------------


def _time(value: object, field: str = "t") -> datetime:
    """An RFC 3339 time (REST) or a msgpack timestamp (the stream), in 1970-2200."""
    to_datetime = getattr(value, "to_datetime", None)  # msgpack Timestamp on the stream
    if callable(to_datetime):
        try:
            at = to_datetime()  # any int64 of seconds: most are beyond year 9999
        except (OverflowError, ValueError):
            raise MalformedPayloadError(
                f"{field} is {shown(value)}, not a time between years 1 and 9999"
            ) from None
        if not isinstance(at, datetime):
            raise MalformedPayloadError(f"{field} is {shown(value)}, not a time")
        return check_provider_time(to_utc(at, field), field, value)
    return provider_time(value, field)


def quote_from_alpaca(symbol: str, raw: object) -> QuoteUpdated:
    record = require(raw, "t", "bp", "ap", "bs", "as")
    return make_quote(
        symbol=symbol,
        source=NAME,
        ts=_time(record["t"]),
        bid=to_decimal(record["bp"], "bp"),
        ask=to_decimal(record["ap"], "ap"),
        bid_size=to_decimal(record["bs"], "bs"),
        ask_size=to_decimal(record["as"], "as"),
    )


def trade_from_alpaca(symbol: str, raw: object) -> TradePrinted:
    record = require(raw, "t", "p", "s")
    return make_trade(
        symbol=symbol,
        source=NAME,
        ts=_time(record["t"]),
        price=to_decimal(record["p"], "p"),
        size=to_decimal(record["s"], "s"),
    )


def bar_from_alpaca(symbol: str, raw: object, timeframe: Timeframe) -> BarClosed:
    """Alpaca stamps a bar with its start. A stock's daily bar (stamped midnight New York)
    spans the regular session of that date; other bars span one timeframe from the start."""
    record = require(raw, "t", "o", "h", "l", "c", "v")
    opens = _time(record["t"])
    closes = None
    if timeframe == "1Day" and not is_crypto(symbol):
        opens, closes = us_equity_session(opens.astimezone(NEW_YORK).date())
    return make_bar(
        symbol=symbol,
        source=NAME,
        timeframe=timeframe,
        ts_open=opens,
        ts_close=closes,
        open_=to_decimal(record["o"], "o"),
        high=to_decimal(record["h"], "h"),
        low=to_decimal(record["l"], "l"),
        close=to_decimal(record["c"], "c"),
        volume=to_decimal(record["v"], "v"),
    )


def news_from_alpaca(raw: object) -> NewsItem:
    record = require(raw, "id", "headline", "created_at", "source")
    symbols = record.get("symbols") or []
    if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
        raise MalformedPayloadError("symbols is not a list of strings")
    summary, url = record.get("summary"), record.get("url")
    return NewsItem(
        id=identifier(record["id"], "id"),
        headline=text_of(record["headline"], "headline"),
        summary=clean_text(summary) if isinstance(summary, str) else "",
        source=text_of(record["source"], "source"),
        url=clean_text(url) if isinstance(url, str) and url else None,
        published_at=provider_time(record["created_at"], "created_at"),
        symbols=tuple(clean_text(s) for s in symbols),
        provider=NAME,
    )


def asset_from_alpaca(symbol: str, raw: object) -> AssetInfo:
    record = require(raw, "symbol", "class")
    tradable, name = record.get("tradable"), record.get("name")
    return AssetInfo(
        symbol=symbol,
        name=clean_text(name) if isinstance(name, str) else None,
        asset_class=clean_text(str(record["class"])),
        exchange=clean_text(str(record["exchange"])) if record.get("exchange") else None,
        currency="USD",
        tradable=tradable if isinstance(tradable, bool) else None,
        source=NAME,
        details={
            k: clean_text(str(record[k]))
            for k in ("status", "shortable", "fractionable", "marginable")
            if k in record
        },
    )


def events_from_stream_message(message: object) -> Event:
    """One Alpaca stream frame (``T`` = q, t or b) as an event."""
    record = require(message, "T", "S")
    kind, symbol = record["T"], record["S"]
    if not isinstance(symbol, str):
        raise MalformedPayloadError("S is not a symbol")
    if kind == "q":
        return quote_from_alpaca(symbol, record)
    if kind == "t":
        return trade_from_alpaca(symbol, record)
    if kind == "b":
        return bar_from_alpaca(symbol, record, "1Min")
    raise MalformedPayloadError(f"unexpected stream message type {kind!r}")


class StreamSink:
    """Takes the stream's messages one at a time (alpaca-py calls ``on_message`` once per
    message of a frame) and queues their events for ``AlpacaConnector.stream``.

    A message that cannot be used is rejected (logged with its reason, counted) and costs only
    itself. That holds even for an error the normalisation should never raise: alpaca-py would
    take it as a websocket error and drop the rest of the frame, losing good messages.
    """

    def __init__(self, rejections: RejectionLog, maxsize: int = 50_000) -> None:
        self._rejections = rejections
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=maxsize)

    async def on_message(self, message: Any) -> None:
        try:
            event = events_from_stream_message(message)
        except MalformedPayloadError as exc:
            self._rejections.reject(NAME, str(exc), message)
            return
        except Exception as exc:  # a normalisation bug: log it, lose only this message
            log.exception("could not normalise a stream message", extra={"provider": NAME})
            self._rejections.reject(
                NAME, f"could not normalise: {type(exc).__name__}: {shown(exc, 200)}", message
            )
            return
        if self.queue.full():
            log.warning("stream backlog full; dropping oldest event", extra={"provider": NAME})
            self.queue.get_nowait()
        self.queue.put_nowait(event)


# --- the connector ----------------------------------------------------------------------------


@dataclass
class _Clients:
    stock: StockHistoricalDataClient | None
    crypto: CryptoHistoricalDataClient
    news: NewsClient | None
    trading: TradingClient | None
    key: str | None
    secret: str | None


class AlpacaConnector:
    def __init__(
        self,
        secrets: SecretSource,
        config: AlpacaConfig | None = None,
        *,
        rejections: RejectionLog | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._secrets = secrets
        self.config = config or AlpacaConfig()
        self._rejections = rejections or RejectionLog()
        self._clock = clock
        self._redact = Redactor()
        self._budget = SharedBudget(
            RateBudget.per_minute(self.config.rate_per_minute, self.config.burst), monotonic
        )
        self.transport = ThrottledAdapter(
            self._budget,
            timeout=self.config.timeout_seconds,
            max_retries_429=self.config.max_retries_429,
            max_wait=self.config.max_retry_wait_seconds,
            sleep=sleep,
        )
        self._calls = BlockingCalls(NAME)
        self._clients: _Clients | None = None
        self._lock = asyncio.Lock()

    @property
    def name(self) -> str:
        return NAME

    @property
    def capabilities(self) -> frozenset[Capability]:
        return frozenset(Capability)

    # --- clients and errors -------------------------------------------------------------------

    async def _secret(self, name: str) -> str | None:
        try:
            return await self._secrets.get(name)
        except PlatformUnavailableError as exc:
            raise ProviderUnavailableError(NAME, f"credentials unavailable: {exc}") from None

    def _prepare(self, client: RESTClient) -> None:
        # The SDK retries 429/504 three times with a fixed blocking 3 s sleep and ignores
        # Retry-After; our transport does that properly, so the SDK's loop is switched off.
        client._retry = 0
        mount_throttle(client._session, self.transport)

    async def _get_clients(self) -> _Clients:
        if self._clients is not None and self._clients.key:
            return self._clients
        async with self._lock:
            key = await self._secret(self.config.key_secret)
            secret = await self._secret(self.config.secret_secret)
            self._redact.add([key, secret])
            keyed = bool(key and secret)
            if self._clients is not None and not keyed:
                return self._clients
            url = self.config.data_url
            clients = _Clients(
                stock=StockHistoricalDataClient(key, secret, raw_data=True, url_override=url)
                if keyed
                else None,
                crypto=CryptoHistoricalDataClient(
                    key if keyed else None,
                    secret if keyed else None,
                    raw_data=True,
                    url_override=url,
                ),
                news=NewsClient(key, secret, raw_data=True, url_override=url) if keyed else None,
                trading=TradingClient(
                    key, secret, paper=True, raw_data=True, url_override=self.config.trading_url
                )
                if keyed
                else None,
                key=key if keyed else None,
                secret=secret if keyed else None,
            )
            for client in (clients.stock, clients.crypto, clients.news, clients.trading):
                if client is not None:
                    self._prepare(client)
            self._clients = clients
            return clients

    def _missing(self, what: str) -> CredentialsMissingError:
        return CredentialsMissingError(
            NAME,
            f"{what} needs credentials: set {self.config.key_secret} and "
            f"{self.config.secret_secret} in the secret store",
        )

    def _translate(self, exc: BaseException, operation: str) -> ConnectorError:
        if isinstance(exc, APIError):
            status = exc.status_code
            body = self._redact(str(exc))[:300]
            detail = f"{operation}: HTTP {status} {body}"
            if status == 429:
                response = exc.response
                header = response.headers.get("Retry-After") if response is not None else None
                retry_after = parse_retry_after(header, datetime.now(UTC))
                return RateLimitedError(NAME, detail, retry_after)
            if status == 401:
                return ProviderAuthError(NAME, detail)
            if status is not None and 400 <= status < 500:
                return ProviderRequestError(NAME, detail)
            return ProviderUnavailableError(NAME, detail)
        if isinstance(exc, requests.exceptions.JSONDecodeError):
            return MalformedResponseError(NAME, f"{operation}: response is not JSON")
        if isinstance(exc, requests.exceptions.RequestException):
            return ProviderUnavailableError(
                NAME, f"{operation}: {type(exc).__name__}: {self._redact(str(exc))[:300]}"
            )
        return MalformedResponseError(
            NAME,
            f"{operation}: response not in Alpaca's documented shape "
            f"({type(exc).__name__}: {self._redact(str(exc))[:200]})",
        )

    async def _call(self, operation: str, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return await self._calls.run(fn, *args)
        except Exception as exc:
            error = self._translate(exc, operation)
            raise error from None

    def _report(self, rejected: list[Rejection]) -> None:
        self._rejections.report(rejected)

    @staticmethod
    def _by_symbol(raw: object, operation: str) -> dict[str, Any]:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            raise MalformedResponseError(
                NAME, f"{operation}: expected an object keyed by symbol, got {type(raw).__name__}"
            )
        return raw

    # --- quotes -------------------------------------------------------------------------------

    async def latest_quotes(self, symbols: Sequence[str]) -> list[QuoteUpdated]:
        clients = await self._get_clients()
        stocks = [s for s in symbols if not is_crypto(s)]
        cryptos = [s for s in symbols if is_crypto(s)]
        found: dict[str, Any] = {}
        if stocks:
            if clients.stock is None:
                raise self._missing("stock quotes")
            request = StockLatestQuoteRequest(
                symbol_or_symbols=stocks, feed=DataFeed(self.config.feed)
            )
            raw = await self._call(
                "latest stock quotes", clients.stock.get_stock_latest_quote, request
            )
            found.update(self._by_symbol(raw, "latest stock quotes"))
        if cryptos:
            request_c = CryptoLatestQuoteRequest(symbol_or_symbols=cryptos)
            raw = await self._call(
                "latest crypto quotes", clients.crypto.get_crypto_latest_quote, request_c
            )
            found.update(self._by_symbol(raw, "latest crypto quotes"))
        wanted = [(s, found[s]) for s in symbols if s in found and found[s] is not None]
        quotes, rejected = collect(NAME, wanted, lambda item: quote_from_alpaca(*item))
        self._report(rejected)
        return quotes

    # --- bars ---------------------------------------------------------------------------------

    async def _fetch_bars(
        self,
        symbol: str,
        timeframe: Timeframe,
        start: datetime,
        end: datetime,
        limit: int | None,
        sort: Sort,
    ) -> list[BarClosed]:
        clients = await self._get_clients()
        operation = f"{timeframe} bars for {symbol}"
        if is_crypto(symbol):
            request_c = CryptoBarsRequest(
                symbol_or_symbols=symbol,
                timeframe=_TIMEFRAMES[timeframe],
                start=start,
                end=end,
                limit=limit,
                sort=sort,
            )
            raw = await self._call(operation, clients.crypto.get_crypto_bars, request_c)
        else:
            if clients.stock is None:
                raise self._missing("stock bars")
            request = StockBarsRequest(
                symbol_or_symbols=symbol,
                timeframe=_TIMEFRAMES[timeframe],
                start=start,
                end=end,
                limit=limit,
                sort=sort,
                feed=DataFeed(self.config.feed),
            )
            raw = await self._call(operation, clients.stock.get_stock_bars, request)
        records = self._by_symbol(raw, operation).get(symbol) or []
        if not isinstance(records, list):
            raise MalformedResponseError(NAME, f"{operation}: bars are not a list")
        bars, rejected = collect(NAME, records, lambda r: bar_from_alpaca(symbol, r, timeframe))
        self._report(rejected)
        return bars

    async def bars(
        self,
        symbol: str,
        timeframe: Timeframe,
        start: datetime,
        end: datetime,
        limit: int | None = None,
    ) -> list[BarClosed]:
        bars = await self._fetch_bars(symbol, timeframe, start, end, limit, Sort.ASC)
        inside = [b for b in bars if half_open_filter(b.ts_open, start, end)]
        inside.sort(key=lambda b: b.ts_open)
        return inside[:limit] if limit is not None else inside

    async def latest_bar(self, symbol: str, timeframe: Timeframe) -> BarClosed | None:
        now = self._clock()
        lookback = timedelta(days=30) if timeframe == "1Day" else timedelta(days=10)
        bars = await self._fetch_bars(symbol, timeframe, now - lookback, now, 3, Sort.DESC)
        closed = [b for b in bars if b.ts_event <= now]
        return max(closed, key=lambda b: b.ts_open) if closed else None

    # --- assets and news ----------------------------------------------------------------------

    async def assets(self, symbols: Sequence[str]) -> list[AssetInfo]:
        clients = await self._get_clients()
        if clients.trading is None:
            raise self._missing("assets")
        found: list[AssetInfo] = []
        for symbol in symbols:
            try:
                raw = await self._call(
                    f"asset {symbol}", clients.trading.get_asset, symbol.replace("/", "")
                )
            except ProviderRequestError as exc:
                if "HTTP 404" in str(exc) or "HTTP 422" in str(exc):
                    continue
                raise
            try:
                found.append(asset_from_alpaca(symbol, raw))
            except MalformedPayloadError as exc:
                self._rejections.reject(NAME, str(exc), raw)
        return found

    async def news(
        self, symbols: Sequence[str], start: datetime, end: datetime, limit: int = 50
    ) -> list[NewsItem]:
        clients = await self._get_clients()
        if clients.news is None:
            raise self._missing("news")
        request = NewsRequest(
            symbols=",".join(symbols), start=start, end=end, limit=limit, sort="desc"
        )
        raw = await self._call("news", clients.news.get_news, request)
        if not isinstance(raw, dict) or not isinstance(raw.get("news", []), list):
            raise MalformedResponseError(NAME, "news: expected an object with a news list")
        items, rejected = collect(NAME, raw.get("news", []), news_from_alpaca)
        self._report(rejected)
        inside = [n for n in items if half_open_filter(n.published_at, start, end)]
        return sorted(inside, key=lambda n: n.published_at, reverse=True)[:limit]

    # --- the live stream ----------------------------------------------------------------------

    def _streams(self, clients: _Clients, symbols: Sequence[str]) -> list[DataStream]:
        stocks = [s for s in symbols if not is_crypto(s)]
        cryptos = [s for s in symbols if is_crypto(s)]
        if not (clients.key and clients.secret):
            raise self._missing("the live stream")
        streams: list[DataStream] = []
        if stocks:
            streams.append(
                StockDataStream(
                    clients.key,
                    clients.secret,
                    raw_data=True,
                    feed=DataFeed(self.config.feed),
                    url_override=self.config.stock_stream_url,
                )
            )
        if cryptos:
            streams.append(
                CryptoDataStream(
                    clients.key,
                    clients.secret,
                    raw_data=True,
                    url_override=self.config.crypto_stream_url,
                )
            )
        return streams

    async def stream(self, symbols: Sequence[str]) -> AsyncIterator[list[Event]]:
        """Quotes, trades and minute bars from Alpaca's websocket streams.

        The SDK's stream runs on this event loop (its ``_run_forever`` coroutine: its public
        ``run()`` would start a second loop in a thread); it reconnects by itself.
        """
        clients = await self._get_clients()
        streams = self._streams(clients, symbols)
        sink = StreamSink(self._rejections)
        queue, on_message = sink.queue, sink.on_message
        for stream in streams:
            wanted = [s for s in symbols if is_crypto(s) == isinstance(stream, CryptoDataStream)]
            stream.subscribe_quotes(on_message, *wanted)  # type: ignore[attr-defined]
            stream.subscribe_trades(on_message, *wanted)  # type: ignore[attr-defined]
            stream.subscribe_bars(on_message, *wanted)  # type: ignore[attr-defined]
        tasks = [
            asyncio.create_task(s._run_forever(), name=f"alpaca-stream-{i}")
            for i, s in enumerate(streams)
        ]
        try:
            while True:
                getter = asyncio.create_task(queue.get())
                done, _ = await asyncio.wait({getter, *tasks}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    ended = next(t for t in tasks if t in done)
                    problem = ended.exception() if not ended.cancelled() else None
                    raise ProviderUnavailableError(
                        NAME, f"stream stopped: {self._redact(repr(problem))}"
                    )
                batch = [getter.result()]
                while not queue.empty() and len(batch) < 1000:
                    batch.append(queue.get_nowait())
                yield batch
        finally:
            for stream in streams:
                with contextlib.suppress(Exception):
                    await stream.stop_ws()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for stream in streams:
                with contextlib.suppress(Exception):
                    await stream.close()

    async def aclose(self) -> None:
        self._calls.shutdown()
        if self._clients is not None:
            for client in (
                self._clients.stock,
                self._clients.crypto,
                self._clients.news,
                self._clients.trading,
            ):
                if client is not None:
                    client._session.close()
