"""Use cases behind the REST API: the read model's equity curve (paged) and P&L breakdowns, and
the performance analyses (metrics, drawdowns, rolling statistics, charts) — each after checking
that the account, strategy and symbol asked for exist, so an unknown one is "not found" rather
than "no data in range"."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, Protocol

from analytics.domain.errors import AnalyticsInputError, NoDataError, UnknownScopeError
from analytics.domain.history import DrawdownPeriod
from analytics.domain.metrics import PerformanceMetrics
from analytics.domain.paging import decode_page_token, encode_page_token, query_fingerprint
from analytics.domain.pnl import PnlBy, PnlDay, PnlGroup, days_covered, pnl_breakdown
from analytics.domain.trades import TradeStats
from analytics.domain.valuation import ValuedPoint

from .performance import (
    ChartKind,
    PerformanceReport,
    PerformanceService,
    RollingStats,
)
from .ports import ChartFormat, PerformanceQuery

Resolution = Literal["event", "day"]
RESOLUTIONS: tuple[Resolution, ...] = ("event", "day")
MAX_PAGE = 5000


class ReadModelReader(Protocol):
    async def scope_exists(self, account_id: str, strategy_id: str | None) -> bool:
        """Whether the account (``strategy_id`` None) or one of its strategies has fills."""
        ...

    async def symbol_exists(
        self, account_id: str, strategy_id: str | None, symbol: str
    ) -> bool: ...

    async def equity_rows(
        self,
        query: PerformanceQuery,
        resolution: Resolution,
        after: datetime | None,
        limit: int,
    ) -> Sequence[ValuedPoint]:
        """Up to ``limit`` points of the account's or strategy's curve in the query's range,
        after ``after``, in time order (daily points stamped at the day's close)."""
        ...

    async def pnl_days(self, query: PerformanceQuery, last_day: date | None) -> Sequence[PnlDay]:
        """The daily P&L rows of the query's positions up to ``last_day`` (all before it: the
        breakdown needs the P&L to date before the range)."""
        ...


@dataclass(frozen=True, slots=True)
class EquityPage:
    resolution: Resolution
    points: list[ValuedPoint]
    next_page_token: str | None


@dataclass(frozen=True, slots=True)
class PnlRow:
    group: PnlGroup
    period_return: float | None = None
    trades: TradeStats | None = None
    metrics: PerformanceMetrics | None = None


class AnalyticsQueries:
    def __init__(self, reader: ReadModelReader, performance: PerformanceService) -> None:
        self._reader = reader
        self._performance = performance

    async def check(self, query: PerformanceQuery) -> None:
        """Refuse an empty range, and an account, strategy or symbol the read model lacks."""
        if query.start is not None and query.end is not None and query.start == query.end:
            raise AnalyticsInputError(
                f"empty range: start and end are both {query.start.isoformat()}"
            )
        if not await self._reader.scope_exists(query.account_id, None):
            raise UnknownScopeError(f"unknown account {query.account_id!r}: no fills recorded")
        if query.strategy_id is not None and not await self._reader.scope_exists(
            query.account_id, query.strategy_id
        ):
            raise UnknownScopeError(
                f"unknown strategy {query.strategy_id!r} in account {query.account_id!r}: "
                "no fills recorded"
            )
        if query.symbol is not None and not await self._reader.symbol_exists(
            query.account_id, query.strategy_id, query.symbol
        ):
            raise UnknownScopeError(
                f"no fills of {query.symbol!r} in account {query.account_id!r}"
                + (f", strategy {query.strategy_id!r}" if query.strategy_id else "")
            )

    async def report(
        self, query: PerformanceQuery, *, benchmark_symbol: str | None = None
    ) -> PerformanceReport:
        await self.check(query)
        return await self._performance.report(query, benchmark_symbol=benchmark_symbol)

    async def equity(
        self,
        query: PerformanceQuery,
        *,
        resolution: Resolution,
        limit: int,
        page_token: str | None = None,
    ) -> EquityPage:
        if resolution not in RESOLUTIONS:
            raise AnalyticsInputError(
                f"unknown resolution {resolution!r}: expected one of {', '.join(RESOLUTIONS)}"
            )
        if not 1 <= limit <= MAX_PAGE:
            raise AnalyticsInputError(f"limit must be from 1 to {MAX_PAGE}, got {limit}")
        if query.symbol is not None:
            raise AnalyticsInputError(
                "the equity curve is kept per account and strategy: use /metrics or /pnl for "
                "one symbol"
            )
        await self.check(query)
        fingerprint = query_fingerprint(
            query.account_id,
            query.strategy_id,
            resolution,
            query.start.isoformat() if query.start else None,
            query.end.isoformat() if query.end else None,
        )
        after = decode_page_token(page_token, fingerprint) if page_token else None
        rows = list(await self._reader.equity_rows(query, resolution, after, limit + 1))
        if not rows and after is None:
            raise NoDataError(f"{_describe(query)}: no equity points in range")
        more = len(rows) > limit
        points = rows[:limit]
        token = encode_page_token(fingerprint, points[-1].at) if more else None
        return EquityPage(resolution, points, token)

    async def pnl(self, query: PerformanceQuery, by: PnlBy) -> list[PnlRow]:
        await self.check(query)
        first_day, last_day = days_covered(query.start, query.end)
        if first_day is not None and last_day is not None and first_day > last_day:
            raise AnalyticsInputError(
                "P&L is kept per UTC day: the range contains no day's end (23:59:59.999999 UTC)"
            )
        rows = await self._reader.pnl_days(query, last_day)
        groups = pnl_breakdown(rows, by, first_day, last_day)
        if not groups:
            raise NoDataError(f"{_describe(query)}: no P&L in range")
        try:
            extra = {row.key: row for row in await self._performance.breakdown(query, by)}
        except NoDataError:
            extra = {}
        result: list[PnlRow] = []
        for group in groups:
            more = extra.get(group.key)
            result.append(
                PnlRow(
                    group=group,
                    period_return=more.period_return if more else None,
                    trades=more.trades if more else None,
                    metrics=more.metrics if more else None,
                )
            )
        return result

    async def drawdowns(self, query: PerformanceQuery, *, top: int | None) -> list[DrawdownPeriod]:
        await self.check(query)
        return await self._performance.drawdowns(query, top=top)

    async def rolling(self, query: PerformanceQuery, *, window: int) -> RollingStats:
        await self.check(query)
        return await self._performance.rolling(query, window=window)

    async def chart(self, query: PerformanceQuery, kind: ChartKind, fmt: ChartFormat) -> bytes:
        await self.check(query)
        return await self._performance.chart(query, kind, fmt)


def _describe(query: PerformanceQuery) -> str:
    parts = [f"account {query.account_id}"]
    if query.strategy_id:
        parts.append(f"strategy {query.strategy_id}")
    if query.symbol:
        parts.append(f"symbol {query.symbol}")
    return ", ".join(parts)
