"""Valuing a scope over time: which moments get a point, and what it holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from analytics.domain.errors import AnalyticsInputError
from analytics.domain.valuation import Holding, HoldingChange, Mark, value_scope

T0 = datetime(2024, 3, 4, 15, tzinfo=UTC)
D = Decimal
CASH = D(100_000)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def holding(qty: str, avg: str, cash: str, realized: str = "0", fees: str = "0") -> Holding:
    return Holding(D(qty), D(avg), D(cash), D(realized), D(fees))


def test_value_scope_point_at_each_fill_and_each_mark_of_a_held_symbol() -> None:
    changes = [HoldingChange(at(1), 1, ("s", "AAPL"), holding("10", "100", "-1001", fees="1"))]
    marks = [
        Mark(at(0), "AAPL", D(99)),  # before the position: no point
        Mark(at(1), "AAPL", D(100)),
        Mark(at(2), "AAPL", D(102)),
        Mark(at(3), "MSFT", D(400)),  # not held: no point
    ]
    points = value_scope(CASH, {}, {}, changes, marks)
    assert [(p.at, p.equity, p.unrealized) for p in points] == [
        (at(1), D(99_999), D(0)),
        (at(2), D(100_019), D(20)),
    ]
    assert points[1].gross_value == D(1020)
    assert points[1].cash == D(98_999)


def test_value_scope_one_point_per_moment_after_everything_at_it() -> None:
    changes = [
        HoldingChange(at(1), 1, ("s", "AAPL"), holding("10", "100", "-1000")),
        HoldingChange(at(1), 2, ("s", "AAPL"), holding("0", "0", "50", realized="50")),
    ]
    points = value_scope(CASH, {}, {}, changes, [Mark(at(1), "AAPL", D(105))])
    assert [(p.at, p.equity, p.realized, p.gross_value) for p in points] == [
        (at(1), D(100_050), D(50), D(0))
    ]


def test_value_scope_nets_strategies_per_symbol_and_splits_long_and_short() -> None:
    base = {
        ("a", "AAPL"): holding("10", "100", "-1000"),
        ("b", "AAPL"): holding("-4", "100", "400"),
        ("b", "MSFT"): holding("-2", "400", "800"),
    }
    points = value_scope(
        CASH, base, {"AAPL": D(100), "MSFT": D(400)}, [], [Mark(at(5), "AAPL", D(110))]
    )
    [point] = points
    assert point.long_value == D(660)  # net 6 AAPL at 110
    assert point.short_value == D(-800)  # -2 MSFT at 400
    assert point.equity == CASH + D(-1000 + 400 + 800) + D(660) - D(800)
    assert point.unrealized == D(60)  # 10 x 10 - 4 x 10


def test_value_scope_mark_of_a_symbol_netted_to_flat_gives_no_point() -> None:
    base = {("a", "AAPL"): holding("5", "100", "-500"), ("b", "AAPL"): holding("-5", "100", "500")}
    assert value_scope(CASH, base, {}, [], [Mark(at(1), "AAPL", D(120))]) == []


def test_value_scope_position_without_a_mark_is_valued_at_its_cost() -> None:
    changes = [HoldingChange(at(1), 1, ("s", "NEW"), holding("3", "50", "-150"))]
    [point] = value_scope(CASH, {}, {}, changes, [])
    assert (point.equity, point.long_value, point.unrealized) == (CASH, D(150), D(0))


def test_value_scope_unordered_input_is_refused() -> None:
    changes = [
        HoldingChange(at(2), 1, ("s", "A"), holding("1", "1", "-1")),
        HoldingChange(at(1), 2, ("s", "A"), holding("2", "1", "-2")),
    ]
    with pytest.raises(AnalyticsInputError, match="order"):
        value_scope(CASH, {}, {}, changes, [])
    with pytest.raises(AnalyticsInputError, match="order"):
        value_scope(CASH, {}, {}, [], [Mark(at(2), "A", D(1)), Mark(at(1), "A", D(1))])
