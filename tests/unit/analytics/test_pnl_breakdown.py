"""P&L breakdowns from daily rows, the days a range covers, and a positions' curve."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from analytics.domain.errors import AnalyticsInputError
from analytics.domain.pnl import (
    PnlDay,
    day_close,
    days_covered,
    period_start,
    pnl_breakdown,
    positions_curve,
)

D = Decimal


def row(
    strategy: str,
    symbol: str,
    day: date,
    *,
    realized: str = "0",
    fees: str = "0",
    unrealized: str = "0",
    to_date: str = "0",
    value: str = "0",
    fills: int = 0,
) -> PnlDay:
    return PnlDay(
        strategy_id=strategy,
        symbol=symbol,
        day=day,
        realized=D(realized),
        fees=D(fees),
        turnover=D(fills * 100),
        fills=fills,
        qty=D(1) if value != "0" else D(0),
        market_value=D(value),
        unrealized=D(unrealized),
        pnl_to_date=D(to_date),
    )


MON, TUE, WED, NEXT_MON = date(2024, 3, 4), date(2024, 3, 5), date(2024, 3, 6), date(2024, 3, 11)
ROWS = [
    row("a", "AAPL", MON, fees="1", unrealized="20", to_date="19", value="1020", fills=1),
    row(
        "a",
        "AAPL",
        TUE,
        realized="40",
        fees="1",
        unrealized="60",
        to_date="98",
        value="660",
        fills=1,
    ),
    row("a", "AAPL", WED, realized="-60", fees="1", to_date="-23", fills=1),
    row("b", "MSFT", WED, fees="1", to_date="-1", value="250", fills=1),
    row("b", "MSFT", NEXT_MON, unrealized="30", to_date="29", value="280"),
]


def test_pnl_breakdown_by_symbol_over_everything() -> None:
    groups = {group.key: group for group in pnl_breakdown(ROWS, "symbol", None, None)}
    assert sorted(groups) == ["AAPL", "MSFT"]
    aapl = groups["AAPL"]
    assert (aapl.realized, aapl.fees, aapl.unrealized, aapl.net_pnl, aapl.fills) == (
        D(-20),
        D(3),
        D(0),
        D(-23),
        3,
    )
    assert (groups["MSFT"].net_pnl, groups["MSFT"].unrealized) == (D(29), D(30))


def test_pnl_breakdown_range_starts_from_the_pnl_to_date_before_it() -> None:
    [aapl] = pnl_breakdown([r for r in ROWS if r.symbol == "AAPL"], "symbol", TUE, WED)
    assert aapl.net_pnl == D(-23) - D(19)
    assert (aapl.first_day, aapl.last_day, aapl.fills) == (TUE, WED, 2)


def test_pnl_breakdown_by_day_week_month_and_strategy_add_up() -> None:
    total = D(-23) + D(29)
    for by in ("day", "week", "month", "strategy", "symbol"):
        groups = pnl_breakdown(ROWS, by, None, None)
        assert sum((group.net_pnl for group in groups), D(0)) == total, by
    days = pnl_breakdown(ROWS, "day", None, None)
    assert [(g.key, g.net_pnl) for g in days] == [
        ("2024-03-04", D(19)),
        ("2024-03-05", D(79)),
        ("2024-03-06", D(-122)),
        ("2024-03-11", D(30)),
    ]
    weeks = pnl_breakdown(ROWS, "week", None, None)
    assert [g.key for g in weeks] == ["2024-03-04", "2024-03-11"]
    assert [g.key for g in pnl_breakdown(ROWS, "strategy", None, None)] == ["a", "b"]


def test_pnl_breakdown_period_cut_by_the_range_covers_its_part() -> None:
    [week] = pnl_breakdown(ROWS, "week", TUE, TUE)
    assert (week.key, week.first_day, week.last_day, week.net_pnl) == (
        "2024-03-04",
        TUE,
        TUE,
        D(79),
    )


def test_pnl_breakdown_nothing_in_range_is_empty_and_bad_input_refused() -> None:
    assert pnl_breakdown(ROWS, "symbol", date(2025, 1, 1), date(2025, 1, 2)) == []
    with pytest.raises(AnalyticsInputError, match="no whole day"):
        pnl_breakdown(ROWS, "day", WED, TUE)
    with pytest.raises(AnalyticsInputError, match="unknown breakdown"):
        pnl_breakdown(ROWS, "hour", None, None)  # type: ignore[arg-type]


def test_days_covered_are_the_days_whose_close_is_in_range() -> None:
    assert days_covered(None, None) == (None, None)
    start = datetime(2024, 3, 4, 10, tzinfo=UTC)
    assert days_covered(start, datetime(2024, 3, 6, 0, 0, tzinfo=UTC)) == (MON, TUE)
    assert days_covered(start, day_close(WED)) == (MON, WED)
    first, last = days_covered(start, datetime(2024, 3, 4, 12, tzinfo=UTC))
    assert first is not None and last is not None and first > last  # no whole day


def test_period_start_of_week_is_monday_and_of_month_the_first() -> None:
    assert period_start(date(2024, 3, 10), "week") == MON
    assert period_start(date(2024, 3, 10), "month") == date(2024, 3, 1)
    assert period_start(date(2024, 3, 10), "day") == date(2024, 3, 10)


def test_positions_curve_is_cash_plus_pnl_to_date_on_each_day() -> None:
    rows = [r for r in ROWS if r.symbol == "AAPL"]
    curve = positions_curve(D(100_000), rows, [date(2024, 3, 1), MON, TUE, WED, NEXT_MON])
    assert [(p.at, p.equity, p.position_value) for p in curve] == [
        (day_close(MON), D(100_019), D(1020)),
        (day_close(TUE), D(100_098), D(660)),
        (day_close(WED), D(99_977), D(0)),
        (day_close(NEXT_MON), D(99_977), D(0)),
    ]
    assert positions_curve(D(100_000), [], [MON]) == []
