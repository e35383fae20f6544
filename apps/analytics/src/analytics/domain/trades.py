"""Win/loss statistics: over closed trades (Decimal P&Ls) and over periodic returns (floats).

One definition for both (quantstats' period-based conventions):

* outcomes exactly zero (break-even trades, flat periods) are neither wins nor losses and are
  left out of every figure below (they are counted separately);
* win rate = wins / (wins + losses);
* profit factor = gross profit / |gross loss| (``inf`` with no losses, ``nan`` with neither);
* average win = mean of the winning outcomes, average loss = mean of the losing outcomes (a
  negative number); undefined (``None`` / ``nan``) when there are none;
* expectancy = mean of the non-zero outcomes
  = win_rate * average_win + (1 - win_rate) * average_loss.

Trade P&Ls are money: they come in as Decimal and the amounts (gross profit and loss, net,
averages, expectancy) go out as Decimal, unrounded. The ratios (win rate, profit factor) are
floats.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

import numpy as np
import numpy.typing as npt

from .errors import AnalyticsInputError


@dataclass(frozen=True, slots=True)
class WinLossStats:
    """Win/loss figures over periodic returns (fractions; ``nan`` where undefined)."""

    wins: int
    losses: int
    flat: int
    win_rate: float
    profit_factor: float
    avg_win: float
    avg_loss: float
    expectancy: float


def _ratio(numerator: float, denominator: float) -> float:
    if denominator == 0.0:
        return math.inf if numerator > 0.0 else math.nan
    return numerator / denominator


def win_loss_stats(values: npt.NDArray[np.float64]) -> WinLossStats:
    """Win/loss figures over an array of periodic returns (or any outcomes), vectorised."""
    won = values > 0.0
    lost = values < 0.0
    wins = int(np.count_nonzero(won))
    losses = int(np.count_nonzero(lost))
    # max/min then sum is several times faster than sum(where=mask) on large arrays.
    gross_profit = float(np.maximum(values, 0.0).sum())
    gross_loss = float(np.minimum(values, 0.0).sum())
    decided = wins + losses
    return WinLossStats(
        wins=wins,
        losses=losses,
        flat=int(values.size) - decided,
        win_rate=wins / decided if decided else math.nan,
        profit_factor=_ratio(gross_profit, -gross_loss),
        avg_win=gross_profit / wins if wins else math.nan,
        avg_loss=gross_loss / losses if losses else math.nan,
        expectancy=(gross_profit + gross_loss) / decided if decided else math.nan,
    )


@dataclass(frozen=True, slots=True)
class ClosedTrade:
    """A round trip that has been closed: its realised P&L, net of fees."""

    strategy_id: str
    symbol: str
    closed_at: datetime
    pnl: Decimal

    def __post_init__(self) -> None:
        if self.closed_at.tzinfo is None or self.closed_at.utcoffset() is None:
            raise AnalyticsInputError(
                f"closed trade {self.symbol!r}: closed_at {self.closed_at.isoformat()} has no "
                "timezone (times must be timezone-aware UTC)"
            )
        if not self.pnl.is_finite():
            raise AnalyticsInputError(f"closed trade {self.symbol!r}: P&L {self.pnl} is not finite")


@dataclass(frozen=True, slots=True)
class TradeStats:
    """Win/loss figures over closed trades. Amounts are Decimal money, ratios floats."""

    trades: int
    wins: int
    losses: int
    breakeven: int
    gross_profit: Decimal
    gross_loss: Decimal
    """Sum of the losing trades' P&L: zero or negative."""
    net_pnl: Decimal
    win_rate: float
    profit_factor: float
    avg_win: Decimal | None
    avg_loss: Decimal | None
    expectancy: Decimal | None


def trade_statistics(pnls: Iterable[Decimal]) -> TradeStats:
    """Win/loss figures over closed trades' realised P&Ls (see the module docstring)."""
    wins: list[Decimal] = []
    losses: list[Decimal] = []
    breakeven = 0
    for position, pnl in enumerate(pnls):
        if not isinstance(pnl, Decimal) or not pnl.is_finite():
            raise AnalyticsInputError(
                f"trade P&L #{position} must be a finite Decimal, got {pnl!r}"
            )
        if pnl > 0:
            wins.append(pnl)
        elif pnl < 0:
            losses.append(pnl)
        else:
            breakeven += 1
    gross_profit = sum(wins, Decimal(0))
    gross_loss = sum(losses, Decimal(0))
    decided = len(wins) + len(losses)
    return TradeStats(
        trades=decided + breakeven,
        wins=len(wins),
        losses=len(losses),
        breakeven=breakeven,
        gross_profit=gross_profit,
        gross_loss=gross_loss,
        net_pnl=gross_profit + gross_loss,
        win_rate=len(wins) / decided if decided else math.nan,
        profit_factor=_ratio(float(gross_profit), float(-gross_loss)),
        avg_win=gross_profit / len(wins) if wins else None,
        avg_loss=gross_loss / len(losses) if losses else None,
        expectancy=(gross_profit + gross_loss) / decided if decided else None,
    )


TradeKey = Literal["symbol", "strategy"]


def group_trades(trades: Iterable[ClosedTrade], by: TradeKey) -> dict[str, list[ClosedTrade]]:
    """Closed trades grouped by symbol or strategy id, keys sorted."""
    groups: defaultdict[str, list[ClosedTrade]] = defaultdict(list)
    for trade in trades:
        groups[trade.symbol if by == "symbol" else trade.strategy_id].append(trade)
    return dict(sorted(groups.items()))


def pnl_by(trades: Sequence[ClosedTrade], by: TradeKey) -> dict[str, Decimal]:
    """Net realised P&L per symbol or strategy, largest first (ties by key)."""
    totals = {
        key: sum((trade.pnl for trade in group), Decimal(0))
        for key, group in group_trades(trades, by).items()
    }
    return dict(sorted(totals.items(), key=lambda item: (-item[1], item[0])))
