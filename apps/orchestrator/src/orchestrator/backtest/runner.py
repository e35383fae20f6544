"""Backtester: historical bars through a real ``TradingEngine``, in one process.

Per trading day, for every symbol with a bar that day (symbols in the order given):
the clock moves to the bar's close, the engine gets the bar (it fills the orders placed after
the previous bar at this bar's open: the paper exchange's bars-only rule, with the configured
slippage and fees), then the symbol's strategy sees the bar and the position, and its intent
goes to the engine as a GTC market order placed at that close. After all symbols, the day's
equity (the engine's cash + positions marked at their last close) is recorded (see
``BacktestConfig.mark_every_bar`` for which bars the engine sees). Nothing here does I/O.

Sessions: the bars are the market. Each daily bar is given the regular US session of its
date (09:30-16:00 America/New_York, in UTC; early closes are not modelled) and the engine's
calendar port is answered with an always-open session, so any day with a bar trades and no
holiday table is needed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from uuid import UUID
from zoneinfo import ZoneInfo

from trader_common.contracts.trade import OrderSide, TimeInForce
from trading_engine.domain.assets import Asset, AssetRegistry
from trading_engine.domain.commands import SubmitOrder
from trading_engine.domain.core import AccountConfig, ExchangeConfig
from trading_engine.domain.costs import BpsFee, FixedBpsSlippage, NoFees, NoSlippage
from trading_engine.domain.events import AccountType, DomainEvent, OrderFillEvent
from trading_engine.domain.market import Bar
from trading_engine.domain.sessions import ALWAYS_OPEN_SESSION, Session
from trading_engine.service.clock import ManualClock, random_ids
from trading_engine.service.engine import TradingEngine

from .bars import BarSeries, DailyBar
from .strategy import Strategy

ZERO = Decimal(0)
_NEW_YORK = ZoneInfo("America/New_York")
_OPEN = time(9, 30)
_CLOSE = time(16, 0)
_START = datetime(1970, 1, 1, tzinfo=UTC)


class BacktestConfigError(ValueError):
    """A backtest setting is out of range; the message names it."""


@dataclass(frozen=True, slots=True)
class BacktestConfig:
    starting_cash: Decimal = Decimal(100_000)
    fee_bps: Decimal = ZERO
    slippage_bps: Decimal = ZERO
    strategy_id: str = "backtest"
    mark_every_bar: bool = False
    """True: every bar of a held symbol goes through the engine (the engine marks the position
    and the equity curve is the engine's account equity each day). False (faster, same
    figures): held symbols' bars go to the engine only when an order works or is placed, and
    the day's equity is the engine's cash plus the held quantities at their last closes -
    the engine's own formula; the engine gets every held symbol's last bar at the end and its
    final equity is checked against the curve."""

    def __post_init__(self) -> None:
        for name in ("starting_cash", "fee_bps", "slippage_bps"):
            value = getattr(self, name)
            if not value.is_finite() or value < ZERO:
                raise BacktestConfigError(f"{name} must be a number >= 0, got {value}")


@dataclass(frozen=True, slots=True)
class Fill:
    day: date
    ts: datetime
    symbol: str
    side: str
    qty: Decimal
    price: Decimal
    fee: Decimal
    client_order_id: str


@dataclass(frozen=True, slots=True)
class Rejection:
    day: date
    symbol: str
    side: str
    qty: Decimal
    reason: str
    client_order_id: str


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    """An order the backtest placed, as it stands at the end (open ones still working)."""

    client_order_id: str
    symbol: str
    side: str
    qty: Decimal
    status: str
    filled_qty: Decimal
    avg_fill_price: Decimal | None
    fees: Decimal


@dataclass(frozen=True, slots=True)
class Trade:
    """A round trip: from flat to flat (``exit_day`` None: still open at the end, valued at
    the last close)."""

    symbol: str
    entry_day: date
    entry_price: Decimal  # average of the buys
    qty: Decimal
    exit_day: date | None
    exit_price: Decimal | None  # average of the sells, or the last close while open
    pnl: Decimal  # after fees
    fees: Decimal


@dataclass(frozen=True, slots=True)
class EquityPoint:
    day: date
    ts: datetime
    cash: Decimal
    equity: Decimal


@dataclass(slots=True)
class BacktestResult:
    config: BacktestConfig
    symbols: tuple[str, ...]
    bars: int
    fills: list[Fill] = field(default_factory=list)
    orders: list[PlacedOrder] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    equity: list[EquityPoint] = field(default_factory=list)
    trades: list[Trade] = field(default_factory=list)
    positions: dict[str, Decimal] = field(default_factory=dict)
    final_cash: Decimal = ZERO
    final_equity: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    fees: Decimal = ZERO


class _AlwaysOpen:
    """SessionCalendar port for backtests: the bars say when the market traded."""

    def session_at_or_after(self, calendar: str, ts: datetime) -> Session:
        return ALWAYS_OPEN_SESSION


def session_times(day: date) -> tuple[datetime, datetime]:
    """The regular US equity session of ``day`` in UTC."""
    return (
        datetime.combine(day, _OPEN, _NEW_YORK).astimezone(UTC),
        datetime.combine(day, _CLOSE, _NEW_YORK).astimezone(UTC),
    )


class _TradeBook:
    """Round trips per symbol, built from fills (long-only: buys open, sells close)."""

    def __init__(self) -> None:
        self.open: dict[str, list[Fill]] = {}
        self.closed: list[Trade] = []
        self.position: dict[str, Decimal] = {}

    def add(self, fill: Fill) -> None:
        qty = fill.qty if fill.side == "buy" else -fill.qty
        held = self.position.get(fill.symbol, ZERO) + qty
        self.position[fill.symbol] = held
        self.open.setdefault(fill.symbol, []).append(fill)
        if held == ZERO:
            self.closed.append(_trade(self.open.pop(fill.symbol), None))

    def still_open(self, last_close: dict[str, Decimal]) -> list[Trade]:
        return [_trade(fills, last_close[s]) for s, fills in self.open.items() if fills]


def _avg(fills: list[Fill]) -> Decimal:
    qty = sum((f.qty for f in fills), ZERO)
    return sum((f.qty * f.price for f in fills), ZERO) / qty if qty else ZERO


def _trade(fills: list[Fill], mark: Decimal | None) -> Trade:
    buys = [f for f in fills if f.side == "buy"]
    sells = [f for f in fills if f.side == "sell"]
    bought = sum((f.qty for f in buys), ZERO)
    fees = sum((f.fee for f in fills), ZERO)
    cost = sum((f.qty * f.price for f in buys), ZERO)
    proceeds = sum((f.qty * f.price for f in sells), ZERO)
    if mark is not None:
        proceeds += (bought - sum((f.qty for f in sells), ZERO)) * mark
    return Trade(
        symbol=fills[0].symbol,
        entry_day=buys[0].day if buys else fills[0].day,
        entry_price=_avg(buys).quantize(Decimal("0.0001")),
        qty=bought,
        exit_day=None if mark is not None else fills[-1].day,
        exit_price=mark if mark is not None else _avg(sells).quantize(Decimal("0.0001")),
        pnl=(proceeds - cost - fees).quantize(Decimal("0.01")),
        fees=fees,
    )


_SESSION = ALWAYS_OPEN_SESSION


def _bar(symbol: str, bar: DailyBar, ts_open: datetime, ts_close: datetime, event_id: UUID) -> Bar:
    return Bar(
        symbol,
        "1Day",
        ts_open,
        ts_close,
        bar.open,
        bar.high,
        bar.low,
        bar.close,
        bar.volume,
        event_id,
    )


class Backtester:
    """Runs one strategy instance per symbol over the bars with a fresh engine per run."""

    def __init__(
        self,
        strategy_factory: Callable[[str], Strategy],
        config: BacktestConfig | None = None,
        client_order_id: Callable[[date, str], str] | None = None,
    ) -> None:
        """``client_order_id(day, symbol)`` names the order placed after ``day``'s bar (default
        ``bt-<n>``); dual-run names them as the orchestrator's cycles do."""
        self._factory = strategy_factory
        self.config = config or BacktestConfig()
        self._client_order_id = client_order_id

    def _engine(self, symbols: Sequence[str]) -> tuple[TradingEngine, ManualClock]:
        cfg = self.config
        clock = ManualClock(_START)
        exchange = ExchangeConfig(
            slippage=FixedBpsSlippage(cfg.slippage_bps) if cfg.slippage_bps else NoSlippage(),
            fees=BpsFee(cfg.fee_bps) if cfg.fee_bps else NoFees(),
            bar_timeframe="1Day",
        )
        engine = TradingEngine(
            assets=AssetRegistry(
                Asset.equity(s, fractionable=False, shortable=False) for s in symbols
            ),
            calendar=_AlwaysOpen(),
            clock=clock,
            exchange=exchange,
            ids=random_ids(),
        )
        engine.open_account(
            AccountConfig(
                account_id="backtest",
                starting_cash=cfg.starting_cash,
                account_type=AccountType.CASH,
                margin_multiplier=Decimal(1),
                shorting_enabled=False,
            )
        )
        return engine, clock

    def run(
        self,
        series: Sequence[BarSeries],
        progress: Callable[[int], None] | None = None,
    ) -> BacktestResult:
        """``progress`` is called after each day with the number of bars done so far."""
        symbols = tuple(s.symbol for s in series)
        engine, clock = self._engine(symbols)
        strategies = {s.symbol: self._factory(s.symbol) for s in series}
        for s in series:
            prepare = getattr(strategies[s.symbol], "prepare", None)
            if prepare is not None:
                prepare(s.bars)
        timeline: dict[date, list[tuple[str, DailyBar, Strategy]]] = {}
        for s in series:
            strategy = strategies[s.symbol]
            for bar in s.bars:
                timeline.setdefault(bar.day, []).append((s.symbol, bar, strategy))
        result = BacktestResult(self.config, symbols, sum(len(s.bars) for s in series))
        book = _TradeBook()
        position = book.position
        last_close: dict[str, Decimal] = {}
        fills = result.fills
        strategy_id = self.config.strategy_id
        done = 0
        n_orders = 0

        def record(events: list[DomainEvent], day: date) -> None:
            for event in events:
                if isinstance(event, OrderFillEvent):
                    fill = Fill(
                        day,
                        event.ts_event,
                        event.symbol,
                        event.side.value,
                        event.fill_qty,
                        event.fill_price,
                        event.fee,
                        event.client_order_id,
                    )
                    fills.append(fill)
                    book.add(fill)
                    if event.leaves_qty == ZERO:
                        working.discard(event.symbol)

        # The engine's own bar handler (TradingEngine.on_bar minus building and validating the
        # contract event: the reader has checked every bar). A bar goes to the engine when the
        # symbol has a working order (fills), is about to get an order (sizing) or, with
        # mark_every_bar, holds a position (marks); other bars change nothing the result reads.
        on_bar = engine.core.on_bar
        new_id = random_ids()
        working: set[str] = set()
        name_order = self._client_order_id
        mark_every_bar = self.config.mark_every_bar
        for day in sorted(timeline):
            ts_open, ts_close = session_times(day)
            clock.set(ts_close)
            for symbol, bar, strategy in timeline[day]:
                held = position.get(symbol, ZERO)
                fed = symbol in working or (mark_every_bar and bool(held))
                if fed:
                    record(
                        on_bar(_bar(symbol, bar, ts_open, ts_close, new_id()), _SESSION, ts_close),
                        day,
                    )
                    held = position.get(symbol, ZERO)
                last_close[symbol] = bar.close
                intent = strategy.on_bar(bar, held)
                if intent is None:
                    continue
                if not fed:
                    record(
                        on_bar(_bar(symbol, bar, ts_open, ts_close, new_id()), _SESSION, ts_close),
                        day,
                    )
                n_orders += 1
                client_order_id = (
                    f"bt-{n_orders}" if name_order is None else name_order(day, symbol)
                )
                side = OrderSide.BUY if intent.side == "buy" else OrderSide.SELL
                outcome = engine.submit_order(
                    SubmitOrder(
                        symbol=symbol,
                        side=side,
                        qty=intent.qty,
                        time_in_force=TimeInForce.GTC,
                        client_order_id=client_order_id,
                        strategy_id=strategy_id,
                    )
                )
                if outcome.rejected_reason is not None:
                    result.rejections.append(
                        Rejection(
                            day,
                            symbol,
                            intent.side,
                            intent.qty,
                            outcome.rejected_reason,
                            client_order_id,
                        )
                    )
                else:
                    working.add(symbol)
                record(outcome.events, day)
            account_state = engine.state.require_account()
            cash = account_state.cash
            if mark_every_bar:
                equity = account_state.equity
            else:
                equity = cash + sum(
                    (q * last_close[s] for s, q in position.items() if q), start=ZERO
                )
            result.equity.append(EquityPoint(day, ts_close, cash, equity))
            done += len(timeline[day])
            if progress is not None:
                progress(done)

        if not mark_every_bar:
            # Bring the engine's marks up to date: each held symbol's last bar.
            last_bar = {s.symbol: s.bars[-1] for s in series if s.bars}
            for symbol, held in position.items():
                if held and symbol not in working:
                    bar = last_bar[symbol]
                    ts_open, ts_close = session_times(bar.day)
                    clock.set(max(clock.now(), ts_close))
                    record(
                        on_bar(
                            _bar(symbol, bar, ts_open, ts_close, new_id()), _SESSION, clock.now()
                        ),
                        bar.day,
                    )
        account = engine.account()
        if result.equity and account.equity != result.equity[-1].equity:
            raise RuntimeError(
                f"backtest books disagree: engine equity {account.equity}, "
                f"curve {result.equity[-1].equity}"
            )
        result.trades = book.closed + book.still_open(last_close)
        result.trades.sort(key=lambda t: (t.entry_day, t.symbol))
        result.positions = {s: q for s, q in position.items() if q}
        result.orders = [
            PlacedOrder(
                o.client_order_id,
                o.symbol,
                o.side.value,
                o.qty if o.qty is not None else ZERO,
                o.status.value,
                o.filled_qty,
                o.avg_fill_price,
                o.fees,
            )
            for o in engine.orders()
        ]
        result.final_cash = account.cash
        result.final_equity = account.equity
        result.realized_pnl = account.realized_pnl
        result.fees = account.fees
        return result
