"""Backtest speed: sma-cross (fast 10, slow 30) over 100 symbols x 5 years of daily bars,
our in-process backtester (bars -> the real TradingEngine) against backtrader, side by side in
the same run, on the same deterministic synthetic data (geometric Brownian motion, seeded).

Figures: bars per second of wall and CPU time for each, and the ratio. Backtrader is timed
from ``cerebro.run()`` (it preloads the feeds and computes its indicators vectorised,
``runonce``); ours from ``Backtester.run`` over bars already parsed. The final equities are
printed too: the two must agree (the contract test checks trade by trade). The two are run
alternately, twice each, and each one's run with the least CPU time is reported.
Run: .venv/bin/python -m bench backtest_sma_cross
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from orchestrator.backtest.bars import BarSeries, DailyBar
from orchestrator.backtest.runner import BacktestConfig, Backtester, BacktestResult
from orchestrator.backtest.strategy import SmaCross, SmaCrossParams

SYMBOLS = 100
YEARS = 5
BARS = 252 * YEARS  # 1260 trading days
FAST, SLOW, QTY = 10, 30, Decimal(10)
CASH = Decimal(10_000_000)
CENT = Decimal("0.01")
T = TypeVar("T")


def trading_days(n: int, start: date = date(2019, 1, 2)) -> list[date]:
    days: list[date] = []
    day = start
    while len(days) < n:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def synthetic_series(symbols: int = SYMBOLS, bars: int = BARS, seed: int = 7) -> list[BarSeries]:
    """Deterministic GBM daily bars, prices in cents, open/high/low consistent with the close."""
    rng = random.Random(seed)
    days = trading_days(bars)
    out: list[BarSeries] = []
    for i in range(symbols):
        price = rng.uniform(20, 400)
        mu, sigma = rng.uniform(-0.1, 0.2) / 252, rng.uniform(0.15, 0.5) / math.sqrt(252)
        rows: list[DailyBar] = []
        for day in days:
            open_ = price * math.exp(rng.gauss(0, sigma / 4))
            close = open_ * math.exp(mu - sigma * sigma / 2 + rng.gauss(0, sigma))
            high = max(open_, close) * (1 + abs(rng.gauss(0, sigma / 3)))
            low = min(open_, close) * (1 - abs(rng.gauss(0, sigma / 3)))
            o, h, lo, c = (Decimal(f"{x:.2f}") for x in (open_, high, low, close))
            h, lo = max(h, o, c), min(lo, o, c)
            rows.append(DailyBar(day, o, h, lo, c, Decimal(rng.randrange(100_000, 5_000_000))))
            price = close
        out.append(BarSeries(f"S{i:03d}", tuple(rows), "synthetic"))
    return out


# -- backtrader: the same strategy ---------------------------------------------------------------


def run_backtrader(
    series: Sequence[BarSeries],
    *,
    fast: int = FAST,
    slow: int = SLOW,
    qty: Decimal = QTY,
    cash: Decimal = CASH,
) -> tuple[list[tuple[date, str, str, float, float]], float]:
    """(fills as (day, symbol, side, qty, price), final broker value). Market orders placed in
    next() execute at the next bar's open (cheat-on-open and cheat-on-close off), no
    commission, no slippage."""
    import backtrader as bt
    import pandas as pd

    fills: list[tuple[date, str, str, float, float]] = []

    class SmaCrossBt(bt.Strategy):  # type: ignore[misc]
        def __init__(self) -> None:
            self.cross = {
                d: bt.ind.CrossOver(
                    bt.ind.SMA(d.close, period=fast), bt.ind.SMA(d.close, period=slow)
                )
                for d in self.datas
            }

        def next(self) -> None:
            for d in self.datas:
                held = self.getposition(d).size
                signal = self.cross[d][0]
                if not held and signal > 0:
                    self.buy(data=d, size=float(qty))
                elif held and signal < 0:
                    self.close(data=d)

        def notify_order(self, order: Any) -> None:
            if order.status == order.Completed:
                fills.append(
                    (
                        bt.num2date(order.executed.dt).date(),
                        order.data._name,
                        "buy" if order.isbuy() else "sell",
                        abs(order.executed.size),
                        order.executed.price,
                    )
                )

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.broker.setcash(float(cash))
    cerebro.broker.setcommission(commission=0.0)
    cerebro.broker.set_coc(False)
    cerebro.broker.set_coo(False)
    for s in series:
        frame = pd.DataFrame(
            {
                "open": [float(b.open) for b in s.bars],
                "high": [float(b.high) for b in s.bars],
                "low": [float(b.low) for b in s.bars],
                "close": [float(b.close) for b in s.bars],
                "volume": [float(b.volume) for b in s.bars],
            },
            index=pd.DatetimeIndex([pd.Timestamp(b.day) for b in s.bars]),
        )
        cerebro.adddata(bt.feeds.PandasData(dataname=frame, openinterest=None), name=s.symbol)
    cerebro.addstrategy(SmaCrossBt)
    cerebro.run()
    return fills, float(cerebro.broker.getvalue())


def run_ours(
    series: Sequence[BarSeries],
    *,
    fast: int = FAST,
    slow: int = SLOW,
    qty: Decimal = QTY,
    cash: Decimal = CASH,
) -> BacktestResult:
    params = SmaCrossParams(fast, slow, qty)
    return Backtester(lambda _: SmaCross(params), BacktestConfig(cash)).run(series)


def _timed(run: Callable[[], T]) -> tuple[T, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    value = run()
    return value, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    series = synthetic_series()
    n = sum(len(s.bars) for s in series)
    run_ours(series[:5])  # warm up imports and caches
    # Alternate the two (the machine may be shared) and keep each one's best of two runs.
    ours_runs, bt_runs = [], []
    for _ in range(2):
        ours_runs.append(_timed(lambda: run_ours(series)))
        bt_runs.append(_timed(lambda: run_backtrader(series)))
    ours, ours_wall, ours_cpu = min(ours_runs, key=lambda r: r[2])
    (bt_fills, bt_value), bt_wall, bt_cpu = min(bt_runs, key=lambda r: r[2])
    print(
        f"sma-cross fast {FAST} slow {SLOW} qty {QTY}: {len(series)} symbols x {BARS} "
        f"daily bars = {n:,} bars (synthetic GBM, seed 7)"
    )
    print(
        f"{'backtester':40s} {'bars/s (wall)':>14s} {'bars/s (CPU)':>13s} "
        f"{'seconds':>8s} {'fills':>6s}"
    )
    for name, wall, cpu, fills in (
        ("ours: bars -> TradingEngine in-process", ours_wall, ours_cpu, len(ours.fills)),
        ("backtrader 1.9 (runonce, preload)", bt_wall, bt_cpu, len(bt_fills)),
    ):
        print(f"{name:40s} {n / wall:>14,.0f} {n / cpu:>13,.0f} {wall:>8.2f} {fills:>6d}")
    print(
        f"speed-up (ours / backtrader): {bt_wall / ours_wall:.1f}x wall, "
        f"{bt_cpu / ours_cpu:.1f}x CPU"
    )
    ours_value = ours.final_equity
    same = abs(ours_value - Decimal(repr(bt_value)).quantize(CENT)) <= CENT
    print(
        f"final equity: ours {ours_value:,.2f}, backtrader {bt_value:,.2f} "
        f"({'equal to the cent' if same else 'DIFFERENT'})"
    )


if __name__ == "__main__":
    main()
