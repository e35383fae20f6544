"""Valuing a scope (an account, or one strategy of it) over time: the equity curve at event
resolution from the positions' steps and the symbols' marks.

At a moment ``t``, with each position ``k`` (a strategy's holding of a symbol) as it stood after
its last fill at or before ``t`` and each symbol's last mark at or before ``t``:

* ``cash = starting_cash + sum_k cash_flow_k``
* a symbol's value ``v_s = sum_k qty_k * mark_s`` (its net position, valued at the mark; a
  position with no mark yet is valued at its own average cost); ``long_value`` sums the
  positive ``v_s``, ``short_value`` the negative ones
* ``equity = cash + sum_s v_s``; ``unrealized = sum_k qty_k * (mark_s - avg_cost_k)``;
  ``realized`` and ``fees`` are the positions' cumulative amounts.

A point is recorded at every moment at which one of the scope's positions had a fill, or a
symbol it held (net quantity non-zero after that moment's fills) got a new mark: one point per
moment, after everything that happened at that moment.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from .errors import AnalyticsInputError

ZERO = Decimal(0)
PositionKey = tuple[str, str]
"""(strategy_id, symbol)."""


@dataclass(frozen=True, slots=True)
class Holding:
    """A position's state after a fill: what valuation needs of it."""

    qty: Decimal
    avg_cost: Decimal
    cash_flow: Decimal
    realized: Decimal
    fees: Decimal


@dataclass(frozen=True, slots=True)
class HoldingChange:
    """Position ``key`` became ``holding`` at ``at`` (``seq`` orders changes at one moment)."""

    at: datetime
    seq: int
    key: PositionKey
    holding: Holding


@dataclass(frozen=True, slots=True)
class Mark:
    at: datetime
    symbol: str
    price: Decimal


@dataclass(frozen=True, slots=True)
class ValuedPoint:
    at: datetime
    equity: Decimal
    cash: Decimal
    long_value: Decimal
    short_value: Decimal
    """Zero or negative."""
    realized: Decimal
    unrealized: Decimal
    fees: Decimal

    @property
    def gross_value(self) -> Decimal:
        """Gross market value of the open positions: ``long_value - short_value``."""
        return self.long_value - self.short_value

    @property
    def net_value(self) -> Decimal:
        return self.long_value + self.short_value


def _value(
    starting_cash: Decimal,
    at: datetime,
    holdings: Mapping[PositionKey, Holding],
    marks: Mapping[str, Decimal],
) -> ValuedPoint:
    cash = starting_cash
    realized = fees = cost = ZERO
    by_symbol: dict[str, Decimal] = {}
    for (_, symbol), holding in holdings.items():
        cash += holding.cash_flow
        realized += holding.realized
        fees += holding.fees
        if holding.qty != 0:
            price = marks.get(symbol, holding.avg_cost)
            by_symbol[symbol] = by_symbol.get(symbol, ZERO) + holding.qty * price
            cost += holding.qty * holding.avg_cost
    long_value = sum((v for v in by_symbol.values() if v > 0), ZERO)
    short_value = sum((v for v in by_symbol.values() if v < 0), ZERO)
    market_value = long_value + short_value
    return ValuedPoint(
        at=at,
        equity=cash + market_value,
        cash=cash,
        long_value=long_value,
        short_value=short_value,
        realized=realized,
        unrealized=market_value - cost,
        fees=fees,
    )


def _net_qty(holdings: Mapping[PositionKey, Holding], symbol: str) -> Decimal:
    return sum((h.qty for (_, s), h in holdings.items() if s == symbol), ZERO)


def value_scope(
    starting_cash: Decimal,
    base: Mapping[PositionKey, Holding],
    base_marks: Mapping[str, Decimal],
    changes: Sequence[HoldingChange],
    marks: Sequence[Mark],
) -> list[ValuedPoint]:
    """The scope's points over a window: ``base`` and ``base_marks`` are the positions and marks
    as they stood before the window; ``changes`` and ``marks`` what happened in it (each in time
    order). Returns one point per moment that gets one (see the module docstring)."""
    for earlier, later in itertools.pairwise(changes):
        if (later.at, later.seq) < (earlier.at, earlier.seq):
            raise AnalyticsInputError("position changes must be in (time, sequence) order")
    for earlier_mark, later_mark in itertools.pairwise(marks):
        if later_mark.at < earlier_mark.at:
            raise AnalyticsInputError("marks must be in time order")
    holdings = dict(base)
    prices = dict(base_marks)
    points: list[ValuedPoint] = []
    i = j = 0
    while i < len(changes) or j < len(marks):
        at = min(
            changes[i].at if i < len(changes) else marks[j].at,
            marks[j].at if j < len(marks) else changes[i].at,
        )
        changed = False
        while i < len(changes) and changes[i].at == at:
            holdings[changes[i].key] = changes[i].holding
            changed = True
            i += 1
        marked: list[str] = []
        while j < len(marks) and marks[j].at == at:
            prices[marks[j].symbol] = marks[j].price
            marked.append(marks[j].symbol)
            j += 1
        if changed or any(_net_qty(holdings, symbol) != 0 for symbol in marked):
            points.append(_value(starting_cash, at, holdings, prices))
    return points
