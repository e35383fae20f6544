"""The feature store: market events in, point-in-time features out, all in the state store.

Keys: ``fs:bars:<symbol>:<timeframe>`` (bars and the features as of each),
``fs:quotes:<symbol>`` and ``fs:trades:<symbol>`` (recent ticks).
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from typing import Any

from trader_common.contracts import BarClosed, Event, QuoteUpdated, TradePrinted
from trader_common.ports import StateStore

from ..domain.feature_series import BarSeries, TickSeries
from ..domain.features import BarPoint, FeatureVector
from .state import update

log = logging.getLogger(__name__)


def bars_key(symbol: str, timeframe: str) -> str:
    return f"fs:bars:{symbol}:{timeframe}"


def quotes_key(symbol: str) -> str:
    return f"fs:quotes:{symbol}"


def trades_key(symbol: str) -> str:
    return f"fs:trades:{symbol}"


_DAMAGE = (ValueError, TypeError, KeyError, IndexError, ArithmeticError)


def _damaged(key: str, exc: Exception) -> None:
    log.error(
        "unreadable feature record; starting it afresh", extra={"key": key, "reason": str(exc)}
    )


def _ticks(kind: str, value: Any, key: str, max_rows: int) -> TickSeries:
    series = TickSeries.from_json(kind, value, max_rows)
    try:
        for row in series.rows:
            _ = (int(row[0]), Decimal(str(row[1])), Decimal(str(row[2])))
    except _DAMAGE as exc:
        log.error(
            "unreadable tick record; starting it afresh", extra={"key": key, "reason": str(exc)}
        )
        return TickSeries(kind=kind, max_rows=max_rows)
    return series


class FeatureStore:
    def __init__(
        self, state: StateStore, timeframe: str = "1Min", max_bars: int = 300, max_ticks: int = 50
    ) -> None:
        self._state = state
        self.timeframe = timeframe
        self._max_bars = max_bars
        self._max_ticks = max_ticks

    async def ingest(self, event: Event) -> bool:
        """Record a market event; False when it changed nothing (redelivery, other timeframe,
        another event type, or too old to place)."""
        if isinstance(event, BarClosed):
            if event.timeframe != self.timeframe:
                return False
            bar = BarPoint(
                ts_open=event.ts_open,
                ts_close=event.ts_event,
                open=event.open,
                high=event.high,
                low=event.low,
                close=event.close,
                volume=event.volume,
            )

            key = bars_key(event.symbol, self.timeframe)

            def add_bar(value: object) -> tuple[object, bool]:
                try:
                    series = BarSeries.from_json(value, self._max_bars)
                    changed = series.insert(bar)
                except _DAMAGE as exc:  # a damaged record must not stop the consumer
                    _damaged(key, exc)
                    series = BarSeries(max_bars=self._max_bars)
                    changed = series.insert(bar)
                return (series.to_json() if changed else None), changed

            return await update(self._state, key, add_bar)
        if isinstance(event, QuoteUpdated):
            key, ts, a, b, kind = (
                quotes_key(event.symbol),
                event.ts_event,
                event.bid,
                event.ask,
                "quote",
            )
        elif isinstance(event, TradePrinted):
            key, ts, a, b, kind = (
                trades_key(event.symbol),
                event.ts_event,
                event.price,
                event.size,
                "trade",
            )
        else:
            return False

        def add_tick(value: object) -> tuple[object, bool]:
            series = _ticks(kind, value, key, self._max_ticks)
            changed = series.insert(ts, a, b)
            return (series.to_json() if changed else None), changed

        return await update(self._state, key, add_tick)

    async def read(
        self, symbol: str, as_of: datetime, bar_count: int = 0
    ) -> tuple[FeatureVector, list[BarPoint]]:
        """Features of ``symbol`` as of ``as_of`` and its last ``bar_count`` bars, using only
        what had happened by ``as_of``."""
        bars_item = await self._state.get(bars_key(symbol, self.timeframe))
        quotes_item = await self._state.get(quotes_key(symbol))
        trades_item = await self._state.get(trades_key(symbol))
        key = bars_key(symbol, self.timeframe)
        try:
            series = BarSeries.from_json(None if bars_item is None else bars_item.value)
            bar_features, bars = series.features_at(as_of), series.bars_at(as_of, bar_count)
        except _DAMAGE as exc:
            _damaged(key, exc)
            bar_features, bars = None, []
        quotes = _ticks(
            "quote", None if quotes_item is None else quotes_item.value, quotes_key(symbol), 10**6
        )
        trades = _ticks(
            "trade", None if trades_item is None else trades_item.value, trades_key(symbol), 10**6
        )
        vector = FeatureVector(
            symbol=symbol,
            as_of=as_of,
            bars=bar_features,
            quote=quotes.quote_at(as_of),
            last_trade=trades.trade_at(as_of),
        )
        return vector, bars if bar_count > 0 else []
