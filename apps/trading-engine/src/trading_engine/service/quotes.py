"""Last quote per symbol, kept in the state store with a TTL so stale prices disappear."""

from __future__ import annotations

from trader_common.contracts import QuoteUpdated
from trader_common.ports import StateStore


def quote_key(symbol: str) -> str:
    return f"quote:{symbol}"


class QuoteBook:
    def __init__(self, state: StateStore, ttl_seconds: int) -> None:
        self._state = state
        self._ttl = ttl_seconds

    async def record(self, quote: QuoteUpdated) -> bool:
        """Keep ``quote`` unless a newer one is already stored; True when it was stored.

        Redelivered or out-of-order quotes never move the book backwards.
        """
        current = await self.latest(quote.symbol)
        if current is not None and current.ts_event >= quote.ts_event:
            return False
        await self._state.save(quote_key(quote.symbol), quote.payload(), ttl_seconds=self._ttl)
        return True

    async def latest(self, symbol: str) -> QuoteUpdated | None:
        item = await self._state.get(quote_key(symbol))
        if item is None:
            return None
        return QuoteUpdated.model_validate(item.value)
