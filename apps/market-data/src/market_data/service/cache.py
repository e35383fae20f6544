"""Latest quote and latest bar per symbol in the state store, each with a short TTL.

Keys: ``quote:<symbol>`` and ``bar:<timeframe>:<symbol>``, with ``/`` in a symbol written as
``_`` (symbols never contain ``_``) so a key is one URL path segment for the sidecar. Values
are the events' JSON payloads. A cache that cannot be reached, or holds something unreadable,
is a miss (logged), never an error for the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TypeVar

from pydantic import ValidationError

from trader_common.contracts import BarClosed, Event, QuoteUpdated
from trader_common.ports import PlatformUnavailableError, StateStore

from ..domain.timeframes import Timeframe

log = logging.getLogger(__name__)

DEFAULT_TTL_SECONDS = 30

E = TypeVar("E", QuoteUpdated, BarClosed)


def _safe(symbol: str) -> str:
    return symbol.replace("/", "_")


def quote_key(symbol: str) -> str:
    return f"quote:{_safe(symbol)}"


def bar_key(symbol: str, timeframe: str) -> str:
    return f"bar:{timeframe}:{_safe(symbol)}"


class MarketCache:
    def __init__(self, state: StateStore, ttl_seconds: int = DEFAULT_TTL_SECONDS) -> None:
        if ttl_seconds < 1:
            raise ValueError("cache TTL must be at least one second")
        self._state = state
        self.ttl_seconds = ttl_seconds
        self.writes = 0
        self.write_failures = 0
        self.hits = 0
        self.misses = 0

    async def remember(self, events: Sequence[Event]) -> None:
        """Save the newest quote of each symbol and the newest bar of each (symbol, timeframe)
        in ``events``."""
        latest: dict[str, Event] = {}
        for event in events:
            if isinstance(event, QuoteUpdated):
                key = quote_key(event.symbol)
            elif isinstance(event, BarClosed):
                key = bar_key(event.symbol, event.timeframe)
            else:
                continue
            held = latest.get(key)
            if held is None or event.ts_event >= held.ts_event:
                latest[key] = event
        for key, event in latest.items():
            await self._save(key, event)

    async def _save(self, key: str, event: Event) -> None:
        try:
            await self._state.save(key, event.payload(), ttl_seconds=self.ttl_seconds)
            self.writes += 1
        except PlatformUnavailableError as exc:
            self.write_failures += 1
            log.warning("could not cache", extra={"key": key, "reason": str(exc)})

    async def put(self, event: QuoteUpdated | BarClosed) -> None:
        await self.remember([event])

    async def quote(self, symbol: str) -> QuoteUpdated | None:
        return await self._load(quote_key(symbol), QuoteUpdated)

    async def bar(self, symbol: str, timeframe: Timeframe) -> BarClosed | None:
        return await self._load(bar_key(symbol, timeframe), BarClosed)

    async def _load(self, key: str, model: type[E]) -> E | None:
        try:
            item = await self._state.get(key)
        except PlatformUnavailableError as exc:
            log.warning(
                "cache unavailable; reading through", extra={"key": key, "reason": str(exc)}
            )
            self.misses += 1
            return None
        if item is None:
            self.misses += 1
            return None
        try:
            value = model.model_validate(item.value)
        except ValidationError as exc:
            log.warning(
                "ignoring unreadable cache entry",
                extra={"key": key, "reason": str(exc).splitlines()[0]},
            )
            self.misses += 1
            return None
        self.hits += 1
        return value
