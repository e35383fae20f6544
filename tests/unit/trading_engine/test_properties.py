"""Properties that hold for any sequence of orders and prices:

- cash + market value of positions = starting cash + realized + unrealized P&L - fees, to the cent;
- no fill outside the market that produced it (the quote's bid/ask, the bar's low/high), nor
  through the order's limit;
- filled quantity never exceeds the order's quantity;
- a cash account never holds a short position;
- replaying the events rebuilds the same state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from hypothesis import HealthCheck, event, given, settings, target
from hypothesis import strategies as st

from trader_common.contracts.system import TradingState
from trader_common.contracts.trade import (
    OrderClass,
    OrderSide,
    OrderType,
    TimeInForce,
)
from trading_engine.domain.commands import StopLoss, TakeProfit
from trading_engine.domain.core import AccountConfig, ExchangeConfig
from trading_engine.domain.costs import (
    BpsFee,
    CompositeFee,
    FixedBpsSlippage,
    PerShareFee,
    VolumeShareSlippage,
)
from trading_engine.domain.errors import InvalidOrderError, InvalidTransitionError
from trading_engine.domain.events import AccountType, OrderFillEvent
from trading_engine.domain.risk import RiskLimits
from trading_engine.domain.state import EngineState

D = Decimal

SYMBOLS = ("AAPL", "XYZ")
CENT = D("0.01")


@dataclass(frozen=True)
class Quote:
    symbol: str
    mid_cents: int
    spread_cents: int


@dataclass(frozen=True)
class Bar:
    symbol: str
    open_cents: int
    close_cents: int
    up_cents: int
    down_cents: int
    volume: int


@dataclass(frozen=True)
class Submit:
    symbol: str
    side: OrderSide
    kind: OrderType
    tif: TimeInForce
    qty: D
    offset_bps: int
    second_offset_bps: int
    bracket: bool


@dataclass(frozen=True)
class Cancel:
    pick: int


@dataclass(frozen=True)
class Replace:
    pick: int
    qty_change: int
    offset_bps: int


@dataclass(frozen=True)
class Wait:
    seconds: int


@dataclass(frozen=True)
class NextSession:
    """Jump past the close (day orders expire, a new risk day starts) to the next open."""

    minutes_after_open: int


symbols = st.sampled_from(("AAPL", "AAPL", "AAPL", "XYZ"))
prices = st.one_of(
    st.integers(9_000, 11_000), st.integers(4_500, 5_500), st.integers(1_000, 20_000)
)
quotes = st.builds(Quote, symbols, prices, st.integers(0, 30))
bars = st.builds(
    Bar,
    symbols,
    prices,
    prices,
    st.integers(0, 300),
    st.integers(0, 300),
    st.integers(0, 5_000),
)
quantities = st.one_of(
    st.integers(1, 400).map(D),
    st.integers(1, 400).map(D),
    st.decimals(min_value=D("0.001"), max_value=D(50), places=3),
)
submits = st.builds(
    Submit,
    symbols,
    st.sampled_from(list(OrderSide)),
    st.sampled_from([*OrderType, OrderType.MARKET, OrderType.LIMIT]),
    st.sampled_from(
        [TimeInForce.DAY, TimeInForce.DAY, TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK]
    ),
    quantities,
    st.one_of(st.integers(-60, 60), st.integers(-500, 500)),
    st.integers(1, 300),
    st.sampled_from([False, False, False, True]),
)
actions = st.lists(
    st.one_of(
        quotes,
        quotes,
        bars,
        submits,
        submits,
        submits,
        st.builds(Cancel, st.integers(0, 50)),
        st.builds(Replace, st.integers(0, 50), st.integers(-50, 200), st.integers(-300, 300)),
        st.builds(Wait, st.sampled_from([1, 5, 30, 120, 600])),
        st.builds(NextSession, st.integers(0, 120)),
    ),
    min_size=10,
    max_size=60,
)
# Every run starts from a market, so the orders it generates can trade.
OPENING = (Quote("AAPL", 10_000, 4), Quote("XYZ", 5_000, 2))
accounts = st.sampled_from(
    [
        AccountConfig(starting_cash=D(1_000_000)),
        AccountConfig(starting_cash=D(50_000), margin_multiplier=D(4)),
        AccountConfig(
            starting_cash=D(200_000), account_type=AccountType.CASH, shorting_enabled=False
        ),
    ]
)
exchanges = st.sampled_from(
    [
        ExchangeConfig(),
        ExchangeConfig(
            slippage=FixedBpsSlippage(D(15)),
            fees=CompositeFee(
                (PerShareFee(D("0.005"), minimum=D(1)), BpsFee(D("0.3"), sells_only=True))
            ),
            max_volume_share=D("0.2"),
        ),
        ExchangeConfig(slippage=VolumeShareSlippage(D("0.5")), max_volume_share=D("0.05")),
    ]
)


def _price(cents: int) -> D:
    return D(max(cents, 1)) / 100


def _offset(reference: D, bps: int) -> D:
    return max(CENT, (reference * (1 + D(bps) / 10_000)).quantize(CENT))


class Driver:
    def __init__(self, harness) -> None:
        self.h = harness
        self.checked_fills = 0

    def reference(self, symbol: str) -> D:
        state = self.h.engine.state
        quote = state.last_quote.get(symbol)
        if quote is not None:
            return quote.mid.quantize(CENT)
        bar = state.last_bar.get(symbol)
        return bar.close if bar is not None else D(100)

    def run(self, action) -> None:
        h = self.h
        before = len(h.events)
        envelope: tuple[str, D, D] | None = None
        try:
            if isinstance(action, Quote):
                mid = _price(action.mid_cents)
                bid, ask = (
                    mid,
                    mid + _price(action.spread_cents) - (CENT if action.spread_cents == 0 else 0),
                )
                bid, ask = min(bid, ask), max(bid, ask)
                envelope = (action.symbol, bid, ask)
                h.quote(action.symbol, bid, ask)
            elif isinstance(action, Bar):
                o, c = _price(action.open_cents), _price(action.close_cents)
                high = max(o, c) + _price(action.up_cents) - (CENT if action.up_cents == 0 else 0)
                high = max(high, o, c)
                low = max(
                    CENT,
                    min(o, c) - _price(action.down_cents) + (CENT if action.down_cents == 0 else 0),
                )
                low = min(low, o, c)
                envelope = (action.symbol, low, high)
                h.bar(action.symbol, o, high, low, c, volume=D(action.volume))
            elif isinstance(action, Submit):
                self._refresh(action.symbol)
                envelope = self._quote_envelope(action.symbol)
                self._submit(action)
            elif isinstance(action, Cancel):
                open_orders = h.engine.orders(open_only=True)
                if open_orders:
                    h.cancel(open_orders[action.pick % len(open_orders)].order_id)
            elif isinstance(action, Replace):
                open_orders = [o for o in h.engine.orders(open_only=True) if o.notional is None]
                if open_orders:
                    order = open_orders[action.pick % len(open_orders)]
                    envelope = self._quote_envelope(order.symbol)
                    fields: dict = {
                        "qty": max(D(1), (order.qty or D(1)) + order.filled_qty + action.qty_change)
                    }
                    if order.limit_price is not None:
                        fields["limit_price"] = _offset(order.limit_price, action.offset_bps)
                    h.replace(order.order_id, **fields)
            elif isinstance(action, Wait):
                h.advance(h.now + timedelta(seconds=action.seconds))
            elif isinstance(action, NextSession):
                session = h.calendar.session_at_or_after("XNYS", h.now)
                if session.is_open(h.now):
                    session = h.calendar.session_at_or_after("XNYS", session.close)
                h.advance(session.open + timedelta(minutes=action.minutes_after_open))
        except (InvalidOrderError, InvalidTransitionError):
            pass  # malformed for this order: refused before anything happened
        self.check(h.events[before:], envelope)

    def _quote_envelope(self, symbol: str) -> tuple[str, D, D] | None:
        quote = self.h.engine.state.last_quote.get(symbol)
        return None if quote is None else (symbol, quote.bid, quote.ask)

    def _refresh(self, symbol: str) -> None:
        """Re-post a stale market at its last price so that orders can trade on arrival."""
        quote = self.h.engine.state.last_quote.get(symbol)
        if quote is None or self.h.now - quote.ts > timedelta(seconds=30):
            ref = self.reference(symbol)
            self.h.quote(symbol, ref, ref + CENT)

    def _submit(self, a: Submit) -> None:
        ref = self.reference(a.symbol)
        fields: dict = {
            "symbol": a.symbol,
            "side": a.side,
            "order_type": a.kind,
            "time_in_force": a.tif,
            "qty": a.qty,
        }
        if a.kind in (OrderType.LIMIT, OrderType.STOP_LIMIT):
            fields["limit_price"] = _offset(ref, a.offset_bps)
        if a.kind is OrderType.STOP:
            fields["stop_price"] = _offset(ref, a.offset_bps)
        if a.kind is OrderType.STOP_LIMIT:
            fields["stop_price"] = _offset(ref, a.offset_bps - a.second_offset_bps // 10)
        if a.kind is OrderType.TRAILING_STOP:
            fields["trail_price"] = _offset(ref, a.second_offset_bps) - ref + CENT
        if a.bracket and a.kind in (OrderType.MARKET, OrderType.LIMIT):
            up, down = _offset(ref, a.second_offset_bps), _offset(ref, -a.second_offset_bps)
            buying = a.side is OrderSide.BUY
            fields["order_class"] = OrderClass.BRACKET
            fields["take_profit"] = TakeProfit(
                limit_price=(up if buying else down) + CENT * (1 if buying else -1)
            )
            fields["stop_loss"] = StopLoss(
                stop_price=(down if buying else up) - CENT * (1 if buying else -1)
            )
        self.h.submit(**fields)

    def check(self, new_events, envelope) -> None:
        h = self.h
        h.check_identity()
        account = h.engine.state.require_account()
        left = account.cash + account.market_value
        right = account.starting_cash + account.realized_pnl + account.unrealized_pnl - account.fees
        assert left == right  # exact: cash moves by whole cents and the books balance
        for fill in new_events:
            if not isinstance(fill, OrderFillEvent):
                continue
            self.checked_fills += 1
            assert envelope is not None, f"fill without a market: {fill}"
            symbol, low, high = envelope
            assert fill.symbol == symbol
            assert low <= fill.fill_price <= high, (fill.fill_price, envelope)
            order = h.engine.state.orders[fill.order_id]
            limit = order.ticket.limit_price
            if limit is not None and order.ticket.order_type in (
                OrderType.LIMIT,
                OrderType.STOP_LIMIT,
            ):
                if order.is_buy:
                    assert fill.fill_price <= limit
                else:
                    assert fill.fill_price >= limit
        for order in h.engine.state.orders.values():
            if order.qty is not None:
                assert order.filled_qty <= order.qty
            if order.ticket.notional is not None:
                assert order.filled_notional <= order.ticket.notional
            fills = [e.fill_qty for e in h.fills(order.order_id)]
            assert sum(fills, D(0)) == order.filled_qty
        if not account.can_short:
            assert all(p.qty >= 0 for p in account.positions.values())


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(account=accounts, exchange=exchanges, steps=actions)  # make_harness is a stateless factory
def test_property_books_balance_fills_stay_in_market_and_never_overfill(
    make_harness, account, exchange, steps
) -> None:
    harness = make_harness(account=account, exchange=exchange)
    driver = Driver(harness)
    for step in (*OPENING, *steps):
        driver.run(step)
    event(
        f"fills checked: {min(driver.checked_fills, 10)}{'+' if driver.checked_fills >= 10 else ''}"
    )
    target(float(driver.checked_fills), label="fills checked")  # steer towards busy runs
    rebuilt = EngineState.replay(harness.events)
    assert rebuilt == harness.engine.state


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(steps=actions)
def test_property_risk_limits_hold_under_random_flow(make_harness, steps) -> None:
    limits = RiskLimits(
        max_order_notional=D(20_000),
        max_position_notional=D(40_000),
        max_open_orders=12,
        price_collar_pct=D(3),
        max_daily_loss=D(2_000),
        max_drawdown_pct=D(3),
        drawdown_action=TradingState.REDUCING,
    )
    harness = make_harness(risk=limits, exchange=ExchangeConfig(max_volume_share=D("0.5")))
    driver = Driver(harness)
    for step in (*OPENING, *steps):
        driver.run(step)
        state = harness.engine.state
        assert state.open_order_count <= 12 + 2  # a bracket's children are counted on entry
        assert state.open_order_count == sum(1 for o in state.orders.values() if o.is_open)
    assert EngineState.replay(harness.events) == harness.engine.state


def test_property_driver_really_produces_fills(make_harness) -> None:
    """Guard against a vacuous property: a plain sequence fills and is checked."""
    harness = make_harness()
    driver = Driver(harness)
    driver.run(Quote("AAPL", 10_000, 5))
    driver.run(Submit("AAPL", OrderSide.BUY, OrderType.MARKET, TimeInForce.DAY, D(5), 0, 1, False))
    driver.run(Submit("AAPL", OrderSide.SELL, OrderType.LIMIT, TimeInForce.GTC, D(5), 50, 1, False))
    driver.run(Bar("AAPL", 10_000, 10_100, 100, 100, 1_000))
    assert driver.checked_fills == 2
