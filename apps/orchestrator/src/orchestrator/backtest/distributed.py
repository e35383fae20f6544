"""Dual-run validation: the same daily bars through the distributed platform and through the
in-process backtest, then every difference in orders, fills, positions and P&L.

Distributed side, one trading day at a time (lock-step, so timing cannot change a result):
1. the day's bars are published on market.events through a Dapr sidecar;
2. the driver waits until the trading engine and ai-decision have both taken them in (the
   engine's ``GET /market``, ai-decision's point-in-time ``GET /features``);
3. it starts one orchestrator cycle as of the day's close (a Dapr Workflow: decisions from
   ai-decision's ``local:sma-cross-v1`` model, orders to the engine) that leaves its market
   orders working, and waits for the cycle to complete;
4. the next day's bars fill those orders at their open in the engine's paper exchange, whose
   clock follows market time (``TRADING_ENGINE_CLOCK=market``).
In-process side: the backtester with the same sma-cross strategy (one crossing function for
both, ``trader_common.signals``) naming its orders as the cycles do.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol, TypeVar
from uuid import NAMESPACE_URL, uuid5

from trader_common.contracts import BarClosed

from ..domain.cycle import client_order_id
from .bars import BarSeries, DailyBar
from .dualrun import Difference, RunRecord, compare_runs, record_from_engine, record_of
from .runner import BacktestConfig, Backtester, session_times
from .strategy import SmaCross, SmaCrossParams

T = TypeVar("T")
SOURCE = "dual-run"


class DualRunError(RuntimeError):
    """The distributed run could not go on (a step timed out or a cycle failed); says which."""


class DistributedPlatform(Protocol):
    """What the driver needs of a running platform (HTTP and a sidecar in deployment)."""

    async def publish_bars(self, bars: Sequence[BarClosed]) -> None: ...

    async def engine_last_bar_closes(self) -> dict[str, datetime]:
        """The close time of the last bar the trading engine processed, per symbol."""
        ...

    async def decision_bar_close(self, symbol: str, as_of: datetime) -> datetime | None:
        """The close of the last bar ai-decision's features hold for ``symbol`` as of a time."""
        ...

    async def start_cycle(self, body: Mapping[str, Any]) -> None: ...

    async def cycle(self, cycle_id: str) -> dict[str, Any]:
        """The cycle's state: ``status`` and, once completed, ``result``."""
        ...

    async def engine_records(
        self,
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
        """The engine's orders, positions and account (its REST API's JSON)."""
        ...


@dataclass(frozen=True, slots=True)
class DualRunConfig:
    params: SmaCrossParams = field(default_factory=SmaCrossParams)
    starting_cash: Decimal = Decimal(100_000)
    strategy_id: str = "sma-cross"
    step_timeout: float = 60.0
    poll_seconds: float = 0.05
    # Risk limits for the decisions: the backtest has none beyond the account's cash, so the
    # distributed decisions may use the whole account too.
    risk_limits: Mapping[str, Any] = field(
        default_factory=lambda: {"max_position_weight": "1", "allow_short": False}
    )


def platform_env(
    symbols: Sequence[str], config: DualRunConfig, stream: str
) -> dict[str, dict[str, str]]:
    """Settings of the apps a dual-run drives, per app id: the engine trades the symbols on
    daily bars in market time, as a cash account like the backtest's, on its own event
    ``stream``; ai-decision routes the strategy to ``local:sma-cross-v1`` with enough bars;
    the orchestrator runs no scheduled strategy (only the driver's cycles)."""
    p = config.params
    bars = max(p.slow + 1, 2 * p.slow)  # more than slow + 1: the side before a crossing
    return {
        "trading-engine": {
            "TRADING_ENGINE_EQUITIES": ",".join(symbols),
            "TRADING_ENGINE_CRYPTO": "",
            "TRADING_ENGINE_EQUITY_CALENDAR": "24/7",
            "TRADING_ENGINE_BAR_TIMEFRAME": "1Day",
            "TRADING_ENGINE_CLOCK": "market",
            "TRADING_ENGINE_ACCOUNT_TYPE": "cash",
            "TRADING_ENGINE_MARGIN_MULTIPLIER": "1",
            "TRADING_ENGINE_SHORTING_ENABLED": "false",
            "TRADING_ENGINE_STARTING_CASH": str(config.starting_cash),
            "TRADING_ENGINE_STREAM": stream,
        },
        "ai-decision": {
            "AI_DECISION_FEATURE_TIMEFRAME": "1Day",
            "AI_DECISION_FEATURE_MAX_BARS": str(max(300, bars)),
            "AI_DECISION_NEWS_SOURCE": "none",
            "AI_DECISION_ROUTING": json.dumps(
                {"strategies": {config.strategy_id: {"fast": ["local:sma-cross-v1"]}}}
            ),
            "AI_DECISION_RECENT_BARS": json.dumps({"fast": bars}),
            "AI_DECISION_SMA_CROSS": json.dumps(
                {"fast": p.fast, "slow": p.slow, "quantity": str(p.qty)}
            ),
        },
        "orchestrator": {"ORCHESTRATOR_STRATEGIES": "[]"},
    }


@dataclass(frozen=True, slots=True)
class DualRunReport:
    days: int
    bars: int
    in_process: RunRecord
    distributed: RunRecord
    differences: list[Difference]

    @property
    def identical(self) -> bool:
        return not self.differences


def cycle_id_for(strategy_id: str, day: date) -> str:
    return f"{strategy_id}-{day.isoformat()}"


def bar_event(symbol: str, bar: DailyBar) -> BarClosed:
    """A daily bar as the market event the platform consumes, with the backtest's session
    times and a deterministic id (a republished bar is the same event)."""
    ts_open, ts_close = session_times(bar.day)
    return BarClosed(
        event_id=uuid5(NAMESPACE_URL, f"dual-run:{symbol}:{bar.day.isoformat()}"),
        ts_event=ts_close,
        symbol=symbol,
        source=SOURCE,
        timeframe="1Day",
        ts_open=ts_open,
        open=bar.open,
        high=bar.high,
        low=bar.low,
        close=bar.close,
        volume=bar.volume,
    )


def timeline(series: Sequence[BarSeries]) -> dict[date, list[tuple[str, DailyBar]]]:
    """Each day's bars, symbols in the order given (the backtester's order)."""
    days: dict[date, list[tuple[str, DailyBar]]] = {}
    for s in series:
        for bar in s.bars:
            days.setdefault(bar.day, []).append((s.symbol, bar))
    return dict(sorted(days.items()))


def run_in_process(series: Sequence[BarSeries], config: DualRunConfig) -> RunRecord:
    backtester = Backtester(
        lambda _symbol: SmaCross(config.params),
        BacktestConfig(starting_cash=config.starting_cash, strategy_id=config.strategy_id),
        client_order_id=lambda day, symbol: client_order_id(
            cycle_id_for(config.strategy_id, day), symbol
        ),
    )
    return record_of(backtester.run(series))


async def _until(probe: Callable[[], Awaitable[T | None]], what: str, config: DualRunConfig) -> T:
    deadline = time.monotonic() + config.step_timeout
    while True:
        value = await probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise DualRunError(f"timed out after {config.step_timeout:.0f} s waiting for {what}")
        await asyncio.sleep(config.poll_seconds)


async def _run_day(
    platform: DistributedPlatform,
    config: DualRunConfig,
    day: date,
    bars: Sequence[tuple[str, DailyBar]],
) -> None:
    _, ts_close = session_times(day)
    symbols = [symbol for symbol, _ in bars]
    await platform.publish_bars([bar_event(symbol, bar) for symbol, bar in bars])

    async def engine_has_day() -> bool | None:
        seen = await platform.engine_last_bar_closes()
        return True if all(seen.get(s) == ts_close for s in symbols) else None

    async def decisions_have_day() -> bool | None:
        for symbol in symbols:
            if await platform.decision_bar_close(symbol, ts_close) != ts_close:
                return None
        return True

    await _until(engine_has_day, f"the trading engine to process the bars of {day}", config)
    await _until(decisions_have_day, f"ai-decision to take in the bars of {day}", config)
    cycle_id = cycle_id_for(config.strategy_id, day)
    await platform.start_cycle(
        {
            "strategy_id": config.strategy_id,
            # only the symbols with a bar that day, as the backtest asks its strategies
            "symbols": symbols,
            "cycle_id": cycle_id,
            "as_of": ts_close.isoformat(),
            "fill_timeout": 0,
            "risk_limits": dict(config.risk_limits),
        }
    )

    async def finished() -> dict[str, Any] | None:
        state = await platform.cycle(cycle_id)
        return state if state.get("status") in ("completed", "failed", "terminated") else None

    state = await _until(finished, f"cycle {cycle_id} to finish", config)
    if state["status"] != "completed":
        raise DualRunError(f"cycle {cycle_id} ended {state['status']}: {state}")


async def run_distributed(
    series: Sequence[BarSeries],
    config: DualRunConfig,
    platform: DistributedPlatform,
    progress: Callable[[int], None] | None = None,
) -> RunRecord:
    """The bars through the platform, day by day; the engine's orders, positions and P&L.
    ``progress`` is called after each day with the number of bars done so far."""
    done = 0
    for day, bars in timeline(series).items():
        await _run_day(platform, config, day, bars)
        done += len(bars)
        if progress is not None:
            progress(done)
    orders, positions, account = await platform.engine_records()
    return record_from_engine(orders, positions, account)


async def dual_run(
    series: Sequence[BarSeries],
    config: DualRunConfig,
    platform: DistributedPlatform,
    progress: Callable[[int], None] | None = None,
) -> DualRunReport:
    """Both runs and their differences (in-process on the left, distributed on the right)."""
    in_process = run_in_process(series, config)
    distributed = await run_distributed(series, config, platform, progress)
    return DualRunReport(
        days=len(timeline(series)),
        bars=sum(len(s.bars) for s in series),
        in_process=in_process,
        distributed=distributed,
        differences=compare_runs(in_process, distributed),
    )
