"""A scriptable in-memory market-data connector for service tests (no network)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime

from market_data.domain.models import AssetInfo, Capability, NewsItem
from trader_common.contracts import BarClosed, Event, QuoteUpdated


class ScriptedConnector:
    def __init__(
        self,
        name: str = "scripted",
        *,
        quotes: Sequence[QuoteUpdated] = (),
        bars: Sequence[BarClosed] = (),
        capabilities: frozenset[Capability] = frozenset(Capability),
    ) -> None:
        self._name = name
        self.quotes = list(quotes)
        self.bar_data = list(bars)
        self._capabilities = capabilities
        self.errors: list[Exception] = []
        """Raised (in order, one per call) before answering."""
        self.calls: list[str] = []

    @property
    def name(self) -> str:
        return self._name

    @property
    def capabilities(self) -> frozenset[Capability]:
        return self._capabilities

    def _maybe_fail(self, call: str) -> None:
        self.calls.append(call)
        if self.errors:
            raise self.errors.pop(0)

    async def latest_quotes(self, symbols: Sequence[str]) -> list[QuoteUpdated]:
        self._maybe_fail("latest_quotes")
        return [q for q in self.quotes if q.symbol in symbols]

    async def latest_bar(self, symbol: str, timeframe: str) -> BarClosed | None:
        self._maybe_fail("latest_bar")
        found = [b for b in self.bar_data if b.symbol == symbol and b.timeframe == timeframe]
        return found[-1] if found else None

    async def bars(
        self,
        symbol: str,
        timeframe: str,
        start: datetime,
        end: datetime,
        limit: int | None = None,
    ) -> list[BarClosed]:
        self._maybe_fail(f"bars {start.isoformat()} {limit}")
        found = [
            b
            for b in self.bar_data
            if b.symbol == symbol and b.timeframe == timeframe and start <= b.ts_open < end
        ]
        return found[:limit] if limit is not None else found

    async def stream(self, symbols: Sequence[str]) -> AsyncIterator[list[Event]]:
        self._maybe_fail("stream")
        for quote in self.quotes:
            yield [quote]

    async def assets(self, symbols: Sequence[str]) -> list[AssetInfo]:
        self._maybe_fail("assets")
        return []

    async def news(
        self, symbols: Sequence[str], start: datetime, end: datetime, limit: int = 50
    ) -> list[NewsItem]:
        self._maybe_fail("news")
        return []

    async def aclose(self) -> None:
        return None
