"""Which strategies are due for a cycle at a cron tick. Pure: sessions come in as data."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

ALWAYS_OPEN = "24/7"


@dataclass(frozen=True, slots=True)
class StrategySchedule:
    strategy_id: str
    symbols: tuple[str, ...]
    cadence: timedelta
    calendar: str  # an exchange calendar code (e.g. XNYS) or "24/7" for crypto

    def __post_init__(self) -> None:
        if self.cadence <= timedelta(0):
            raise ValueError(f"strategy {self.strategy_id}: cadence must be positive")
        if not self.symbols:
            raise ValueError(f"strategy {self.strategy_id}: at least one symbol is needed")


@dataclass(frozen=True, slots=True)
class DueCycle:
    strategy_id: str
    symbols: tuple[str, ...]
    slot: datetime  # the cadence slot this cycle belongs to: the idempotency key of the cycle


def cadence_slot(now: datetime, cadence: timedelta) -> datetime:
    """Start of the cadence slot containing ``now`` (slots aligned on the Unix epoch)."""
    seconds = int(cadence.total_seconds())
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=now.tzinfo)


def due_cycles(
    now: datetime,
    strategies: Sequence[StrategySchedule],
    last_slots: Mapping[str, datetime],
    market_open: Mapping[str, bool],
    may_trade: Mapping[str, bool],
    running: set[str],
) -> list[DueCycle]:
    """Strategies whose market is open, who may trade, are not mid-cycle, and whose current
    cadence slot has not run yet."""
    due = []
    for strategy in strategies:
        slot = cadence_slot(now, strategy.cadence)
        open_now = strategy.calendar == ALWAYS_OPEN or market_open.get(strategy.calendar, False)
        if (
            open_now
            and may_trade.get(strategy.strategy_id, False)
            and strategy.strategy_id not in running
            and last_slots.get(strategy.strategy_id) != slot
        ):
            due.append(DueCycle(strategy.strategy_id, strategy.symbols, slot))
    return due
