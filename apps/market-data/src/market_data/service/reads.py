"""The read side: latest quote, latest bar, bars for a range with paging, news and assets.

Latest values come from the cache first and fall back to the providers (the feed's own source
first, then the other configured connectors, in order); what a provider answers for a latest
value is cached for next time. Ranges always go to a provider - the cache holds only the
newest values. A connector that fails or lacks the capability is skipped; when every one
fails the caller gets ``ReadUnavailableError`` with each reason, when none has the data
``ReadNotFoundError``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from trader_common.contracts import BarClosed, QuoteUpdated

from ..domain.models import AssetInfo, Capability, NewsItem
from ..domain.normalise import ONE_MICROSECOND
from ..domain.paging import BarQuery, decode_page_token, encode_page_token
from ..domain.timeframes import Timeframe
from .cache import MarketCache
from .ports import ConnectorError, MarketDataConnector, NotSupportedError, ProviderRequestError

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_PAGE = 1000


class ReadNotFoundError(LookupError):
    pass


class ReadUnavailableError(RuntimeError):
    def __init__(self, what: str, reasons: list[str]) -> None:
        super().__init__(f"no provider could serve {what}: {'; '.join(reasons)}")
        self.reasons = reasons


@dataclass(frozen=True, slots=True)
class Served(Generic[T]):
    value: T
    served_from: str


@dataclass(frozen=True, slots=True)
class BarsPage:
    bars: list[BarClosed]
    next_page_token: str | None
    served_from: str


class MarketReads:
    def __init__(self, cache: MarketCache, connectors: Sequence[MarketDataConnector]) -> None:
        self._cache = cache
        self._connectors = list(connectors)

    @property
    def connectors(self) -> list[MarketDataConnector]:
        return list(self._connectors)

    async def _first(
        self,
        what: str,
        capability: Capability,
        call: Callable[[MarketDataConnector], Awaitable[T | None]],
        *,
        empty_is_final: bool = False,
    ) -> Served[T]:
        reasons: list[str] = []
        declined: list[str] = []
        for connector in self._connectors:
            if capability not in connector.capabilities:
                continue
            try:
                result = await call(connector)
            except NotSupportedError:
                continue
            except ProviderRequestError as exc:
                declined.append(str(exc))
                continue
            except ConnectorError as exc:
                reasons.append(str(exc))
                continue
            if result is None:
                continue
            if isinstance(result, list) and not result and not empty_is_final:
                continue
            return Served(result, connector.name)
        if reasons:
            raise ReadUnavailableError(what, reasons + declined)
        detail = f" ({'; '.join(declined)})" if declined else ""
        raise ReadNotFoundError(f"no {what} available{detail}")

    async def latest_quote(self, symbol: str) -> Served[QuoteUpdated]:
        cached = await self._cache.quote(symbol)
        if cached is not None:
            return Served(cached, "cache")

        async def ask(connector: MarketDataConnector) -> QuoteUpdated | None:
            quotes = await connector.latest_quotes([symbol])
            return next((q for q in quotes if q.symbol == symbol), None)

        served = await self._first(f"latest quote for {symbol}", Capability.QUOTES, ask)
        await self._cache.put(served.value)
        return served

    async def latest_bar(self, symbol: str, timeframe: Timeframe) -> Served[BarClosed]:
        cached = await self._cache.bar(symbol, timeframe)
        if cached is not None:
            return Served(cached, "cache")
        served = await self._first(
            f"latest {timeframe} bar for {symbol}",
            Capability.BARS,
            lambda c: c.latest_bar(symbol, timeframe),
        )
        await self._cache.put(served.value)
        return served

    async def bars_page(
        self, query: BarQuery, *, limit: int, page_token: str | None = None
    ) -> BarsPage:
        """One page of bars opening in [start, end), oldest first.

        ``ValueError`` for a bad range or limit, ``InvalidPageTokenError`` for a foreign token.
        """
        if query.start >= query.end:
            raise ValueError(
                f"start ({query.start.isoformat()}) must be before end ({query.end.isoformat()})"
            )
        if not 1 <= limit <= MAX_PAGE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE}")
        after = decode_page_token(page_token, query) if page_token else None
        start = after + ONE_MICROSECOND if after is not None else query.start

        async def ask(connector: MarketDataConnector) -> list[BarClosed]:
            return await connector.bars(query.symbol, query.timeframe, start, query.end, limit + 1)

        served = await self._first(
            f"{query.timeframe} bars for {query.symbol}", Capability.BARS, ask, empty_is_final=True
        )
        unique = {
            bar.ts_open: bar
            for bar in served.value
            if bar.symbol == query.symbol and start <= bar.ts_open < query.end
        }
        ordered = [unique[ts] for ts in sorted(unique)]
        page = ordered[:limit]
        token = encode_page_token(query, page[-1].ts_open) if len(ordered) > limit else None
        return BarsPage(page, token, served.served_from)

    async def news(
        self, symbols: Sequence[str], start: datetime, end: datetime, limit: int
    ) -> Served[list[NewsItem]]:
        if start >= end:
            raise ValueError("start must be before end")
        return await self._first(
            f"news for {', '.join(symbols)}",
            Capability.NEWS,
            lambda c: c.news(symbols, start, end, limit),
            empty_is_final=True,
        )

    async def asset(self, symbol: str) -> Served[AssetInfo]:
        async def ask(connector: MarketDataConnector) -> AssetInfo | None:
            found = await connector.assets([symbol])
            return next((a for a in found if a.symbol == symbol), None)

        return await self._first(f"asset {symbol}", Capability.ASSETS, ask)
