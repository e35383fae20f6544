"""P&L breakdowns from the daily P&L rows of the read model, and the days a time range covers.

A daily row of a position (strategy, symbol) carries the day's realised P&L (before fees),
fees, turnover and fills, and at the day's end its unrealised P&L and its cumulative net P&L
to date (``realised - fees + unrealised``). Over a period ``[a, b]`` of days, for a group of
positions:

* ``realized``, ``fees``, ``turnover``, ``fills``: sums of the rows in the period;
* ``unrealized``: at the end of ``b`` (each position's last row up to ``b``);
* ``net_pnl``: the change of P&L to date over the period (last row up to ``b`` minus last row
  before ``a``) = realised - fees + the change in unrealised P&L.

A position has a row on each active day with fills or an open position at the day's end, so a
missing row means flat and unchanged. Daily figures are per UTC day; a time range covers the
days whose end (23:59:59.999999 UTC) lies within it — the same days as the daily equity curve.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Literal

from .errors import AnalyticsInputError
from .facts import utc_day
from .points import EquityPoint

ZERO = Decimal(0)
PnlBy = Literal["symbol", "strategy", "day", "week", "month"]
PNL_BY: tuple[PnlBy, ...] = ("symbol", "strategy", "day", "week", "month")


def day_close(day: date) -> datetime:
    """The last instant of a UTC day: where the daily curve stamps that day's point."""
    return datetime.combine(day, time.max, tzinfo=UTC)


def days_covered(start: datetime | None, end: datetime | None) -> tuple[date | None, date | None]:
    """The first and last day whose close lies in ``[start, end]`` (``None``: open bound)."""
    first = utc_day(start) if start is not None else None
    last: date | None = None
    if end is not None:
        last = utc_day(end)
        if day_close(last) > end:
            if last == date.min:  # no day of the calendar closes by then
                raise AnalyticsInputError(
                    f"P&L is kept per UTC day: no day ends by {end.isoformat()}"
                )
            last -= timedelta(days=1)
    return first, last


@dataclass(frozen=True, slots=True)
class PnlDay:
    strategy_id: str
    symbol: str
    day: date
    realized: Decimal
    fees: Decimal
    turnover: Decimal
    fills: int
    qty: Decimal
    market_value: Decimal
    unrealized: Decimal
    pnl_to_date: Decimal


@dataclass(frozen=True, slots=True)
class PnlGroup:
    key: str
    first_day: date
    last_day: date
    realized: Decimal
    fees: Decimal
    unrealized: Decimal
    net_pnl: Decimal
    turnover: Decimal
    fills: int


def period_start(day: date, by: PnlBy) -> date:
    if by == "week":
        return day - timedelta(days=day.weekday())
    if by == "month":
        return day.replace(day=1)
    return day


def _period_end(start: date, by: PnlBy) -> date:
    if by == "week":
        return start + timedelta(days=6)
    if by == "month":
        following = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        return following - timedelta(days=1)
    return start


class _Position:
    def __init__(self, rows: list[PnlDay]) -> None:
        self.rows = sorted(rows, key=lambda row: row.day)
        self.days = [row.day for row in self.rows]

    def last_up_to(self, day: date) -> PnlDay | None:
        index = bisect.bisect_right(self.days, day)
        return self.rows[index - 1] if index else None

    def last_before(self, day: date) -> PnlDay | None:
        index = bisect.bisect_left(self.days, day)
        return self.rows[index - 1] if index else None

    def within(self, first: date, last: date) -> list[PnlDay]:
        lower = bisect.bisect_left(self.days, first)
        return self.rows[lower : bisect.bisect_right(self.days, last)]


def _group(key: str, positions: Sequence[_Position], first: date, last: date) -> PnlGroup:
    realized = fees = turnover = unrealized = net = ZERO
    fills = 0
    for position in positions:
        for row in position.within(first, last):
            realized += row.realized
            fees += row.fees
            turnover += row.turnover
            fills += row.fills
        at_end = position.last_up_to(last)
        before = position.last_before(first)
        if at_end is not None:
            unrealized += at_end.unrealized
            net += at_end.pnl_to_date
        if before is not None:
            net -= before.pnl_to_date
    return PnlGroup(key, first, last, realized, fees, unrealized, net, turnover, fills)


def pnl_breakdown(
    rows: Sequence[PnlDay], by: PnlBy, first_day: date | None, last_day: date | None
) -> list[PnlGroup]:
    """P&L of the positions in ``rows`` over ``[first_day, last_day]`` (open bounds: all the
    rows), by symbol or strategy (one group each, sorted by key) or by day, ISO week or month
    (a group per period with rows in range, in time order; a period cut by the range covers
    only its part in range). ``rows`` must include the rows before ``first_day`` (for the
    starting P&L to date); rows after ``last_day`` are ignored."""
    if by not in PNL_BY:
        raise AnalyticsInputError(f"unknown breakdown {by!r}: expected one of {', '.join(PNL_BY)}")
    if first_day is not None and last_day is not None and first_day > last_day:
        raise AnalyticsInputError(
            f"the range covers no whole day: first day {first_day} is after last day {last_day}"
        )
    grouped: defaultdict[tuple[str, str], list[PnlDay]] = defaultdict(list)
    for row in rows:
        grouped[(row.strategy_id, row.symbol)].append(row)
    positions = {key: _Position(position_rows) for key, position_rows in grouped.items()}
    in_range = [
        row
        for row in rows
        if (first_day is None or row.day >= first_day) and (last_day is None or row.day <= last_day)
    ]
    if not in_range:
        return []
    first = first_day if first_day is not None else min(row.day for row in in_range)
    last = last_day if last_day is not None else max(row.day for row in in_range)
    if by in ("symbol", "strategy"):
        members: defaultdict[str, list[_Position]] = defaultdict(list)
        active = {(row.strategy_id, row.symbol) for row in in_range}
        for key in sorted(active):
            members[key[1] if by == "symbol" else key[0]].append(positions[key])
        return [_group(name, members[name], first, last) for name in sorted(members)]
    groups: list[PnlGroup] = []
    for label in sorted({period_start(row.day, by) for row in in_range}):
        period_first = max(label, first)
        period_last = min(_period_end(label, by), last)
        members_all = list(positions.values())
        groups.append(_group(label.isoformat(), members_all, period_first, period_last))
    return groups


def positions_curve(
    starting_cash: Decimal, rows: Sequence[PnlDay], days: Sequence[date]
) -> list[EquityPoint]:
    """The daily equity attributed to some positions (e.g. one symbol's): starting cash plus
    their P&L to date at each of ``days`` from the first day they have a row, stamped at the
    day's close, with the gross value of their net position (by symbol)."""
    grouped: defaultdict[tuple[str, str], list[PnlDay]] = defaultdict(list)
    for row in rows:
        grouped[(row.strategy_id, row.symbol)].append(row)
    tracked = [_Position(position_rows) for position_rows in grouped.values()]
    if not tracked:
        return []
    first = min(position.days[0] for position in tracked)
    points: list[EquityPoint] = []
    for day in sorted(set(days)):
        if day < first:
            continue
        pnl = ZERO
        by_symbol: defaultdict[str, Decimal] = defaultdict(lambda: ZERO)
        for position in tracked:
            latest = position.last_up_to(day)
            if latest is None:
                continue
            pnl += latest.pnl_to_date
            if latest.day == day:
                by_symbol[latest.symbol] += latest.market_value
        gross = sum((abs(value) for value in by_symbol.values()), ZERO)
        points.append(EquityPoint(day_close(day), starting_cash + pnl, gross))
    return points
