"""The offline feeds as connectors, so the read API works with no keys and no network:
the synthetic market answers from its in-memory state, the replay from its loaded bars."""

from __future__ import annotations

import bisect
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from decimal import Decimal

from trader_common.contracts import BarClosed, Event, QuoteUpdated

from ..domain.models import AssetInfo, Capability, NewsItem
from ..domain.replay import derive_quote
from ..domain.synthetic import SyntheticMarket
from ..domain.timeframes import Timeframe
from ..service.ports import NotSupportedError, ProviderRequestError


class SyntheticConnector:
    def __init__(self, market: SyntheticMarket) -> None:
        self._market = market

    @property
    def name(self) -> str:
        return "synthetic"

    @property
    def capabilities(self) -> frozenset[Capability]:
        return frozenset({Capability.QUOTES, Capability.BARS, Capability.ASSETS})

    def _known(self, symbol: str) -> None:
        if not self._market.knows(symbol):
            raise ProviderRequestError(self.name, f"{symbol} is not in the synthetic feed")

    async def latest_quotes(self, symbols: Sequence[str]) -> list[QuoteUpdated]:
        if not any(self._market.knows(s) for s in symbols):
            raise ProviderRequestError(self.name, f"{', '.join(symbols)} not in the synthetic feed")
        return [q for s in symbols if (q := self._market.latest_quote(s)) is not None]

    async def latest_bar(self, symbol: str, timeframe: Timeframe) -> BarClosed | None:
        self._known(symbol)
        if timeframe != "1Min":
            raise NotSupportedError(self.name, "the synthetic feed makes 1Min bars only")
        return self._market.latest_bar(symbol)

    async def bars(
        self,
        symbol: str,
        timeframe: Timeframe,
        start: datetime,
        end: datetime,
        limit: int | None = None,
    ) -> list[BarClosed]:
        self._known(symbol)
        if timeframe != "1Min":
            raise NotSupportedError(self.name, "the synthetic feed makes 1Min bars only")
        found = self._market.bars(symbol, start, end)
        return found[:limit] if limit is not None else found

    async def assets(self, symbols: Sequence[str]) -> list[AssetInfo]:
        return [
            AssetInfo(
                symbol=s,
                name=f"Synthetic {s}",
                asset_class="synthetic",
                exchange=None,
                currency="USD",
                tradable=True,
                source=self.name,
                details={"regime": self._market.regime(s)},
            )
            for s in symbols
            if self._market.knows(s)
        ]

    async def news(
        self, symbols: Sequence[str], start: datetime, end: datetime, limit: int = 50
    ) -> list[NewsItem]:
        raise NotSupportedError(self.name, "the synthetic feed has no news")

    async def stream(self, symbols: Sequence[str]) -> AsyncIterator[list[Event]]:
        raise NotSupportedError(self.name, "the synthetic feed is driven by the feed runner")
        yield []  # pragma: no cover

    async def aclose(self) -> None:
        return None


class ReplayConnector:
    """Bars from the replay data. While a replay runs, ``cursor`` is the data time it has
    reached and nothing after it is served, so readers never see the replay's future."""

    def __init__(
        self,
        bars: Sequence[BarClosed],
        cursor: Callable[[], datetime | None] = lambda: None,
        quote_spread_bps: Decimal | None = Decimal(5),
    ) -> None:
        self._series: dict[tuple[str, str], list[BarClosed]] = {}
        for bar in sorted(bars, key=lambda b: b.ts_open):
            self._series.setdefault((bar.symbol, bar.timeframe), []).append(bar)
        self._opens = {key: [b.ts_open for b in series] for key, series in self._series.items()}
        self._closes = {key: [b.ts_event for b in series] for key, series in self._series.items()}
        self._symbols = {symbol for symbol, _ in self._series}
        self._cursor = cursor
        self._spread = quote_spread_bps

    @property
    def name(self) -> str:
        return "replay"

    @property
    def capabilities(self) -> frozenset[Capability]:
        caps = {Capability.BARS}
        if self._spread is not None:
            caps.add(Capability.QUOTES)
        return frozenset(caps)

    @property
    def symbols(self) -> list[str]:
        return sorted(self._symbols)

    def _series_for(self, symbol: str, timeframe: Timeframe) -> list[BarClosed]:
        if symbol not in self._symbols:
            raise ProviderRequestError(self.name, f"{symbol} is not in the replay data")
        series = self._series.get((symbol, timeframe))
        if series is None:
            have = sorted(tf for s, tf in self._series if s == symbol)
            raise NotSupportedError(
                self.name, f"replay data has {symbol} as {', '.join(have)}, not {timeframe}"
            )
        return series

    def _visible(self, bar: BarClosed) -> bool:
        cursor = self._cursor()
        return cursor is None or bar.ts_event <= cursor

    async def latest_quotes(self, symbols: Sequence[str]) -> list[QuoteUpdated]:
        if self._spread is None:
            raise NotSupportedError(self.name, "replay quotes are switched off")
        quotes = []
        for symbol in symbols:
            candidates = [self._latest_visible(key) for key in self._series if key[0] == symbol]
            bars = [b for b in candidates if b is not None]
            if bars:
                quotes.append(derive_quote(max(bars, key=lambda b: b.ts_event), self._spread))
        return quotes

    def _latest_visible(self, key: tuple[str, str]) -> BarClosed | None:
        series = self._series[key]
        cursor = self._cursor()
        if cursor is None:
            return series[-1] if series else None
        index = bisect.bisect_right(self._closes[key], cursor)
        return series[index - 1] if index else None

    async def latest_bar(self, symbol: str, timeframe: Timeframe) -> BarClosed | None:
        self._series_for(symbol, timeframe)
        return self._latest_visible((symbol, timeframe))

    async def bars(
        self,
        symbol: str,
        timeframe: Timeframe,
        start: datetime,
        end: datetime,
        limit: int | None = None,
    ) -> list[BarClosed]:
        series = self._series_for(symbol, timeframe)
        opens = self._opens[(symbol, timeframe)]
        lo = bisect.bisect_left(opens, start)
        hi = bisect.bisect_left(opens, end)
        found = [b for b in series[lo:hi] if self._visible(b)]
        return found[:limit] if limit is not None else found

    async def assets(self, symbols: Sequence[str]) -> list[AssetInfo]:
        raise NotSupportedError(self.name, "replay data has no asset metadata")

    async def news(
        self, symbols: Sequence[str], start: datetime, end: datetime, limit: int = 50
    ) -> list[NewsItem]:
        raise NotSupportedError(self.name, "replay data has no news")

    async def stream(self, symbols: Sequence[str]) -> AsyncIterator[list[Event]]:
        raise NotSupportedError(self.name, "the replay is driven by the feed runner")
        yield []  # pragma: no cover

    async def aclose(self) -> None:
        return None
