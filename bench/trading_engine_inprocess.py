"""In-process order throughput of the trading engine: submit -> risk -> fill -> position.

Figures:
- engine: TradingEngine alone (asset and account rules, every pre-trade risk rule configured,
  fill at the quote, position and P&L update, post-trade risk), commands built beforehand;
- engine incl. command: the same, building and validating each SubmitOrder inside the loop;
- service: the engine plus appending the events to the in-memory event store and publishing
  the contract events (pydantic models) on the in-memory bus;
- design floor: only the objects and the Decimal arithmetic one accepted and filled market
  order needs under this design (ids, ticket, order record, OrderAccepted, OrderFilled,
  outcome, the risk, fill, position and account sums, the order maps), written inline with no
  engine logic at all. No implementation of the design in this interpreter can beat it; the
  engine's multiple of it is what the engine's own logic costs.
Each is reported as orders per second of wall time and of process CPU time (the CPU figure
is what to compare on a shared, busy machine), with a machine reference: the time of a fixed
pure-Python loop, to scale figures between machines.
Run: .venv/bin/python -m bench trading_engine_inprocess
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from trader_common.adapters.inprocess import InMemoryEventBus
from trader_common.contracts import QuoteUpdated
from trader_common.contracts.trade import Liquidity, OrderSide, OrderStatus, OrderType, TimeInForce
from trading_engine.adapters.inprocess_store import InMemoryEventStore, InMemorySnapshotStore
from trading_engine.domain.assets import Asset, AssetRegistry
from trading_engine.domain.commands import SubmitOrder
from trading_engine.domain.core import AccountConfig, Outcome
from trading_engine.domain.events import OrderAccepted, OrderFilled
from trading_engine.domain.orders import Order, OrderTicket
from trading_engine.domain.risk import RiskLimits
from trading_engine.domain.sessions import Session
from trading_engine.service.clock import ManualClock, random_ids
from trading_engine.service.engine import TradingEngine
from trading_engine.service.trading_service import TradingService

SYMBOLS = ("AAPL", "MSFT", "NVDA", "AMZN", "SPY")
START = datetime(2024, 3, 4, 15, 0, tzinfo=UTC)
SESSION = Session(datetime(2024, 3, 4, 14, 30, tzinfo=UTC), datetime(2024, 3, 4, 21, 0, tzinfo=UTC))
CASH = Decimal(10_000_000)


class _FixedCalendar:
    def session_at_or_after(self, calendar: str, ts: datetime) -> Session:
        return SESSION


def _engine() -> tuple[TradingEngine, ManualClock]:
    clock = ManualClock(START)
    limits = RiskLimits(
        max_order_notional=Decimal(1_000_000),
        max_position_notional=Decimal(5_000_000),
        max_position_pct_of_equity=Decimal(500),
        max_gross_exposure=Decimal(50_000_000),
        denied_symbols=frozenset({"GME"}),
        price_collar_pct=Decimal(10),
        max_open_orders=10_000,
        max_orders_per_window=1_000_000,
        max_daily_loss=Decimal(1_000_000),
        max_drawdown_pct=Decimal(50),
    )
    engine = TradingEngine(
        assets=AssetRegistry(Asset.equity(s) for s in SYMBOLS),
        calendar=_FixedCalendar(),
        clock=clock,
        risk=limits,
    )
    return engine, clock


def _quotes() -> list[QuoteUpdated]:
    return [
        QuoteUpdated(
            ts_event=START,
            symbol=symbol,
            source="bench",
            bid=Decimal("100.00") + i,
            ask=Decimal("100.02") + i,
            bid_size=Decimal(500),
            ask_size=Decimal(500),
        )
        for i, symbol in enumerate(SYMBOLS)
    ]


def _order(i: int) -> SubmitOrder:
    # Two buys then a sell per symbol: positions open, grow, shrink; every fill path runs.
    return SubmitOrder(
        symbol=SYMBOLS[i % len(SYMBOLS)],
        side=OrderSide.BUY if (i // len(SYMBOLS)) % 3 != 2 else OrderSide.SELL,
        qty=Decimal(10),
        client_order_id=f"bench-{i}",
    )


def _ready_engine() -> TradingEngine:
    engine, clock = _engine()
    engine.open_account(AccountConfig(starting_cash=CASH))
    for quote in _quotes():
        engine.on_quote(quote)
    clock.set(START + timedelta(seconds=1))
    return engine


def _timed(run: Callable[[], int]) -> tuple[float, float]:
    """(orders per wall second, orders per CPU second) of one run."""
    wall, cpu = time.perf_counter(), time.process_time()
    n = run()
    return n / (time.perf_counter() - wall), n / (time.process_time() - cpu)


def bench_engine(n: int, *, build_commands: bool = False) -> tuple[float, float]:
    engine = _ready_engine()
    prebuilt = [] if build_commands else [_order(i) for i in range(n)]

    def run() -> int:
        submit = engine.submit_order
        if build_commands:
            filled = sum(submit(_order(i)).accepted for i in range(n))
        else:
            filled = sum(submit(cmd).accepted for cmd in prebuilt)
        assert filled == n, f"only {filled} of {n} orders were accepted"
        return n

    rates = _timed(run)
    account = engine.account()
    books = (
        account.cash
        + account.market_value
        - (account.starting_cash + account.realized_pnl + account.unrealized_pnl - account.fees)
    )
    assert books == 0, f"books do not balance: {books}"
    return rates


def bench_service(n: int) -> tuple[float, float]:
    async def scenario() -> tuple[float, float]:
        engine, clock = _engine()
        service = TradingService(
            engine,
            store=InMemoryEventStore(),
            snapshots=InMemorySnapshotStore(),
            publisher=InMemoryEventBus(),
            snapshot_every=1_000_000,
        )
        await service.start(AccountConfig(starting_cash=CASH))
        for quote in _quotes():
            await service.on_market_event(quote)
        clock.set(START + timedelta(seconds=1))
        orders = [_order(i) for i in range(n)]
        wall, cpu = time.perf_counter(), time.process_time()
        for cmd in orders:
            await service.submit_order(cmd)
        return n / (time.perf_counter() - wall), n / (time.process_time() - cpu)

    return asyncio.run(scenario())


def bench_floor(n: int) -> tuple[float, float]:
    """The design's floor: what one accepted, filled market buy must build and compute, inline.

    Per order: four ids (order, two events, fill), the ticket, the order record, OrderAccepted
    and OrderFilled, the outcome; the pre-trade sums (notional, position value, equity, the
    exposure and buying power comparisons), the fill (cent-rounded gross, filled, leaves,
    average price), the position (quantity, average entry, cash, market value, unrealized
    P&L) and post-trade equity, peak and loss checks; the order maps keyed by id. No validation,
    no transition table, no risk rule objects, no function calls between steps.
    """
    new_id = random_ids()
    now = START
    zero, hundred, cent = Decimal(0), Decimal(100), Decimal("0.01")
    price, qty = Decimal("100.02"), Decimal(10)
    limits = (Decimal(1_000_000), Decimal(5_000_000), Decimal(500), Decimal(50_000_000))
    max_notional, max_position, max_pct, max_gross = limits
    max_loss, max_drawdown = Decimal(1_000_000), Decimal(50)
    orders: dict[object, Order] = {}
    by_client_id: dict[str, Order] = {}
    working: dict[object, Order] = {}

    def run() -> int:
        cash = day_start = peak = CASH
        position = average = zero
        breaches = 0
        for i in range(n):
            order_id = new_id()
            client_order_id = f"floor-{i}"
            ticket = OrderTicket(
                order_id=order_id,
                client_order_id=client_order_id,
                strategy_id="bench",
                symbol="AAPL",
                side=OrderSide.BUY,
                order_type=OrderType.MARKET,
                time_in_force=TimeInForce.DAY,
                qty=qty,
            )
            notional = qty * price
            value = position * price
            equity = cash + value
            if not (
                notional <= max_notional
                and value + notional <= max_position
                and (value + notional) * hundred <= max_pct * equity
                and value + notional <= max_gross
                and notional <= cash
            ):
                breaches += 1
            accepted = OrderAccepted(
                event_id=new_id(),
                ts_event=now,
                ts_recorded=now,
                order_id=order_id,
                client_order_id=client_order_id,
                strategy_id="bench",
                symbol="AAPL",
                ticket=ticket,
                status=OrderStatus.NEW,
                expires_at=SESSION.close,
                auction_at=None,
                water_mark=None,
                estimate_price=price,
                opening_qty=qty,
            )
            order = Order(
                ticket=ticket,
                status=OrderStatus.NEW,
                created_at=now,
                updated_at=now,
                qty=qty,
                expires_at=SESSION.close,
                estimate_price=price,
                opening_qty=qty,
                counted_qty=qty,
                reserved=notional,
            )
            orders[order_id] = by_client_id[client_order_id] = working[order_id] = order
            gross = (qty * price).quantize(cent)
            filled = order.filled_qty + qty
            filled_notional = order.filled_notional + qty * price
            fill = OrderFilled(
                event_id=new_id(),
                ts_event=now,
                ts_recorded=now,
                order_id=order_id,
                client_order_id=client_order_id,
                strategy_id="bench",
                symbol="AAPL",
                fill_id=new_id(),
                side=OrderSide.BUY,
                fill_qty=qty,
                fill_price=price,
                gross_amount=gross,
                fee=zero,
                liquidity=Liquidity.TAKER,
                filled_qty=filled,
                leaves_qty=qty - filled,
                avg_fill_price=filled_notional / filled,
            )
            order.status = OrderStatus.FILLED
            order.filled_qty, order.filled_notional = filled, filled_notional
            order.gross_amount += gross
            order.fill_ids.add(fill.fill_id)
            order.counted_qty = order.reserved = zero
            del working[order_id]
            average = (average * position + qty * price) / (position + qty)
            position += qty
            cash -= gross
            value = position * price
            unrealized = value - average * position
            equity = cash + value
            peak = max(peak, equity)
            if day_start - equity > max_loss or (peak - equity) * hundred > max_drawdown * peak:
                breaches += 1
            Outcome(events=[accepted, fill], order_id=order_id)
        assert unrealized is not None and breaches >= 0
        return n

    return _timed(run)


def machine_reference() -> float:
    """Microseconds for a fixed pure-Python loop (about 0.5 on a current desktop CPU)."""
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(1_000):
            sum(range(100))
        best = min(best, (time.perf_counter() - started) / 1_000 * 1e6)
    return best


def _best(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return max(r[0] for r in runs), max(r[1] for r in runs)


def main() -> None:
    n = 20_000
    bench_engine(2_000)  # warm up
    engine = _best([bench_engine(n) for _ in range(3)])
    with_commands = _best([bench_engine(n, build_commands=True) for _ in range(3)])
    service = _best([bench_service(n // 2) for _ in range(2)])
    floor = _best([bench_floor(n) for _ in range(3)])
    print(f"machine reference: sum(range(100)) takes {machine_reference():.2f} us")
    print(f"{'path':58s} {'orders/s (wall)':>16s} {'orders/s (CPU)':>15s} {'us/order':>9s}")
    for name, (wall, cpu) in (
        ("engine: submit -> risk -> fill -> position", engine),
        ("engine, building and validating each SubmitOrder", with_commands),
        ("service: + event store append + contract events published", service),
        ("design floor: the objects and sums alone, no engine logic", floor),
    ):
        print(f"{name:58s} {wall:>16,.0f} {cpu:>15,.0f} {1e6 / cpu:>9.1f}")
    print(f"engine / floor: x{floor[1] / engine[1]:.1f} (what the engine's logic adds)")
    print(f"(best of several runs of {n:,} orders over {len(SYMBOLS)} symbols, all risk rules on)")
