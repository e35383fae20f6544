"""The API's use cases over an in-memory read model: scope checks, ranges, paging."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from analytics.domain.errors import AnalyticsInputError, NoDataError, UnknownScopeError
from analytics.domain.paging import InvalidPageTokenError
from analytics.domain.pnl import PnlDay, day_close
from analytics.domain.points import EquityPoint
from analytics.domain.trades import ClosedTrade
from analytics.domain.valuation import ValuedPoint
from analytics.service.performance import PerformanceService
from analytics.service.ports import PerformanceQuery
from analytics.service.queries import AnalyticsQueries, Resolution

D = Decimal
T0 = datetime(2024, 3, 4, 15, tzinfo=UTC)


def _point(n: int, equity: int) -> ValuedPoint:
    return ValuedPoint(
        at=T0 + timedelta(days=n),
        equity=D(equity),
        cash=D(equity),
        long_value=D(0),
        short_value=D(0),
        realized=D(0),
        unrealized=D(0),
        fees=D(0),
    )


@dataclass
class FakeReadModel:
    points: list[ValuedPoint] = field(
        default_factory=lambda: [_point(n, 100_000 + 10 * n) for n in range(10)]
    )
    scopes: set[tuple[str, str]] = field(
        default_factory=lambda: {("paper", ""), ("paper", "momentum")}
    )
    symbols: set[str] = field(default_factory=lambda: {"AAPL"})

    async def scope_exists(self, account_id: str, strategy_id: str | None) -> bool:
        return (account_id, strategy_id or "") in self.scopes

    async def symbol_exists(self, account_id: str, strategy_id: str | None, symbol: str) -> bool:
        return symbol in self.symbols

    async def equity_rows(
        self, query: PerformanceQuery, resolution: Resolution, after: datetime | None, limit: int
    ) -> Sequence[ValuedPoint]:
        kept = [
            p
            for p in self.points
            if (query.start is None or p.at >= query.start)
            and (query.end is None or p.at <= query.end)
            and (after is None or p.at > after)
        ]
        return kept[:limit]

    async def pnl_days(self, query: PerformanceQuery, last_day: date | None) -> Sequence[PnlDay]:
        return [
            PnlDay("momentum", "AAPL", p.at.date(), D(0), D(0), D(0), 0, D(1), D(1), D(0), D(n))
            for n, p in enumerate(self.points)
            if last_day is None or p.at.date() <= last_day
        ]

    async def equity_curve(self, query: PerformanceQuery) -> Sequence[EquityPoint]:
        return [EquityPoint(day_close(p.at.date()), p.equity) for p in self.points]

    async def closed_trades(self, query: PerformanceQuery) -> Sequence[ClosedTrade]:
        return []


@pytest.fixture
def queries() -> AnalyticsQueries:
    model = FakeReadModel()
    return AnalyticsQueries(model, PerformanceService(model, model))


async def test_queries_equity_pages_chain_through_tokens(queries: AnalyticsQueries) -> None:
    query = PerformanceQuery("paper")
    seen: list[ValuedPoint] = []
    token: str | None = None
    pages = 0
    while True:
        page = await queries.equity(query, resolution="event", limit=4, page_token=token)
        seen += page.points
        pages += 1
        token = page.next_page_token
        if token is None:
            break
    assert pages == 3
    assert [p.at for p in seen] == [T0 + timedelta(days=n) for n in range(10)]


async def test_queries_equity_token_of_another_range_is_refused(queries: AnalyticsQueries) -> None:
    page = await queries.equity(PerformanceQuery("paper"), resolution="event", limit=2)
    assert page.next_page_token is not None
    narrowed = PerformanceQuery("paper", start=T0)
    with pytest.raises(InvalidPageTokenError):
        await queries.equity(narrowed, resolution="event", limit=2, page_token=page.next_page_token)


@pytest.mark.parametrize(
    ("query", "error", "says"),
    [
        (PerformanceQuery("nobody"), UnknownScopeError, "unknown account 'nobody'"),
        (PerformanceQuery("paper", strategy_id="x"), UnknownScopeError, "unknown strategy 'x'"),
        (PerformanceQuery("paper", symbol="ZZ"), UnknownScopeError, "no fills of 'ZZ'"),
        (PerformanceQuery("paper", start=T0, end=T0), AnalyticsInputError, "empty range"),
    ],
)
async def test_queries_check_refuses_unknown_scopes_and_empty_ranges(
    queries: AnalyticsQueries, query: PerformanceQuery, error: type[Exception], says: str
) -> None:
    with pytest.raises(error, match=says):
        await queries.report(query)


async def test_queries_inverted_range_is_refused_when_built() -> None:
    with pytest.raises(AnalyticsInputError, match="after end"):
        PerformanceQuery("paper", start=T0, end=T0 - timedelta(seconds=1))


async def test_queries_range_without_points_is_no_data(queries: AnalyticsQueries) -> None:
    later = PerformanceQuery("paper", start=T0 + timedelta(days=100))
    with pytest.raises(NoDataError, match="no equity points"):
        await queries.equity(later, resolution="event", limit=10)


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"resolution": "minute", "limit": 10}, "unknown resolution"),
        ({"resolution": "event", "limit": 0}, "limit must be"),
        ({"resolution": "event", "limit": 5001}, "limit must be"),
    ],
)
async def test_queries_equity_bad_parameters_are_refused(
    queries: AnalyticsQueries, kwargs: dict[str, object], says: str
) -> None:
    with pytest.raises(AnalyticsInputError, match=says):
        await queries.equity(PerformanceQuery("paper"), **kwargs)  # type: ignore[arg-type]


async def test_queries_equity_of_one_symbol_is_refused(queries: AnalyticsQueries) -> None:
    with pytest.raises(AnalyticsInputError, match="per account and strategy"):
        await queries.equity(PerformanceQuery("paper", symbol="AAPL"), resolution="day", limit=5)


async def test_queries_pnl_of_a_range_without_a_day_end_is_refused(
    queries: AnalyticsQueries,
) -> None:
    query = PerformanceQuery("paper", start=T0, end=T0 + timedelta(hours=1))
    with pytest.raises(AnalyticsInputError, match="no day's end"):
        await queries.pnl(query, "day")


async def test_queries_pnl_by_day_carries_the_period_returns(queries: AnalyticsQueries) -> None:
    rows = await queries.pnl(PerformanceQuery("paper"), "day")
    assert len(rows) == 10
    assert rows[0].period_return is None  # no return before the first day's close
    assert rows[1].period_return == pytest.approx(10 / 100_000)
    assert all(row.group.net_pnl == 1 for row in rows[1:])
