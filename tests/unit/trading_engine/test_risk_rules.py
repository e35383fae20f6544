"""Risk: every pre-trade rule refuses with a reason a person can read; daily loss and drawdown
move trading to reducing or halted, which holds until an operator resumes."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from trader_common.contracts.system import TradingState
from trader_common.contracts.trade import OrderSide, OrderStatus, OrderType, TimeInForce
from trading_engine.domain.commands import ClosePosition, HaltTrading, ResumeTrading
from trading_engine.domain.errors import ConfigurationError
from trading_engine.domain.events import (
    OrderAccepted,
    RiskDayStarted,
    RiskLimitBreached,
    RiskLimitCleared,
    TradingStateChanged,
)
from trading_engine.domain.risk import RiskLimits

D = Decimal

BUY, SELL = OrderSide.BUY, OrderSide.SELL
S = OrderStatus
ACTIVE, REDUCING, HALTED = TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED


def _with(make_harness, **limits):
    h = make_harness(risk=RiskLimits(**limits))
    h.quote("AAPL", "100.00", "100.00")
    h.quote("MSFT", "200.00", "200.00")
    return h


# -- pre-trade ----------------------------------------------------------------------------------


def test_risk_max_order_notional_refuses_larger_orders(make_harness) -> None:
    h = _with(make_harness, max_order_notional=D(5_000))
    assert h.buy("50").accepted
    outcome = h.buy("51")
    assert (
        outcome.rejected_reason == "order value 5,100.00 is above the limit of 5,000.00 per order"
    )
    assert h.order(outcome).status is S.REJECTED


def test_risk_max_order_notional_does_not_block_an_exit(make_harness) -> None:
    h = _with(make_harness, max_order_notional=D(5_000))
    for _ in range(3):
        h.buy("50")
    assert h.sell("150").accepted  # closes the position: exits are never too big


def test_risk_max_position_notional_counts_working_orders(make_harness) -> None:
    h = _with(make_harness, max_position_notional=D(10_000))
    h.buy("60")
    h.limit(BUY, "30", "99.00")
    outcome = h.buy("20")
    assert outcome.rejected_reason == (
        "this buy of 20 AAPL would bring the AAPL position (with working orders) to "
        "11,000.00, above the limit of 10,000.00"
    )
    assert h.buy("10").accepted


def test_risk_max_position_pct_of_equity(make_harness) -> None:
    h = _with(make_harness, max_position_pct_of_equity=D(10))
    outcome = h.buy("101")
    assert outcome.rejected_reason is not None
    assert "above 10% of equity (10,000.00)" in outcome.rejected_reason
    assert h.buy("100").accepted


def test_risk_max_gross_exposure_counts_every_symbol(make_harness) -> None:
    h = _with(make_harness, max_gross_exposure=D(20_000))
    h.buy("100")  # 10,000
    h.submit(symbol="MSFT", side=SELL, qty=D(40))  # short 8,000: gross 18,000
    outcome = h.buy("21")
    assert outcome.rejected_reason == (
        "this buy of 21 AAPL would bring gross exposure (with working orders) to 20,100.00, "
        "above the limit of 20,000.00"
    )
    assert h.buy("20").accepted


def test_risk_allowed_symbols_refuse_others(make_harness) -> None:
    h = _with(make_harness, allowed_symbols=frozenset({"AAPL"}))
    assert h.buy("1").accepted
    outcome = h.submit(symbol="MSFT", qty=D(1))
    assert outcome.rejected_reason == "MSFT is not on the list of allowed symbols"


def test_risk_denied_symbols_refused_but_can_still_be_exited(make_harness) -> None:
    h = _with(make_harness)
    h.submit(symbol="MSFT", qty=D(5))
    h.engine.core.risk = RiskLimits(denied_symbols=frozenset({"MSFT"}))
    outcome = h.submit(symbol="MSFT", qty=D(1))
    assert outcome.rejected_reason == "MSFT is on the list of denied symbols"
    assert h.submit(symbol="MSFT", side=SELL, qty=D(5)).accepted


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        (
            {"order_type": OrderType.LIMIT, "limit_price": D("111.00")},
            "limit price 111.00 is 11.0% away from the last price 100.00 of AAPL; "
            "the price collar is 10%",
        ),
        (
            {"order_type": OrderType.STOP, "stop_price": D("80.00")},
            "stop price 80.00 is 20.0% away from the last price 100.00 of AAPL; "
            "the price collar is 10%",
        ),
        ({"order_type": OrderType.LIMIT, "limit_price": D("109.00")}, None),
    ],
)
def test_risk_price_collar_refuses_fat_fingers(make_harness, fields, reason) -> None:
    h = _with(make_harness, price_collar_pct=D(10))
    outcome = h.submit(qty=D(1), **fields)
    assert outcome.rejected_reason == reason


def test_risk_max_open_orders_counts_bracket_children(make_harness) -> None:
    from trader_common.contracts.trade import OrderClass
    from trading_engine.domain.commands import StopLoss, TakeProfit

    h = _with(make_harness, max_open_orders=3)
    h.limit(BUY, "1", "90.00")
    outcome = h.submit(
        qty=D(1),
        order_class=OrderClass.BRACKET,
        order_type=OrderType.LIMIT,
        limit_price=D("95.00"),
        take_profit=TakeProfit(limit_price=D("110.00")),
        stop_loss=StopLoss(stop_price=D("90.00")),
    )
    assert outcome.rejected_reason == "too many open orders: 1 open, this adds 3, the limit is 3"
    assert h.limit(BUY, "1", "90.00").accepted
    assert h.limit(BUY, "1", "90.00").accepted
    assert h.limit(BUY, "1", "90.00").rejected_reason is not None


def test_risk_max_order_rate_refuses_within_the_window_and_allows_after(make_harness) -> None:
    h = _with(make_harness, max_orders_per_window=3, order_rate_window=timedelta(seconds=1))
    for _ in range(3):
        assert h.buy("1").accepted
    outcome = h.buy("1")
    assert outcome.rejected_reason == "order rate limit: 3 orders in the last 1s, the limit is 3"
    h.later(seconds=1)
    assert h.buy("1").accepted


def test_risk_limits_config_invalid_raises() -> None:
    with pytest.raises(ConfigurationError, match="max_order_notional must be positive"):
        RiskLimits(max_order_notional=D(0))
    with pytest.raises(ConfigurationError, match="daily_loss_action must be reducing or halted"):
        RiskLimits(daily_loss_action=ACTIVE)
    with pytest.raises(ConfigurationError, match="max_open_orders must be at least 1"):
        RiskLimits(max_open_orders=0)


# -- trading states -----------------------------------------------------------------------------


def _halt(h, target: TradingState) -> None:
    h.run(h.engine.halt_trading, HaltTrading(operator="ops", reason="drill", target=target))


def test_risk_reducing_accepts_only_orders_that_shrink_a_position(harness) -> None:
    harness.quote("AAPL", "100.00", "100.00")
    harness.buy("10")
    _halt(harness, REDUCING)
    outcome = harness.buy("1")
    assert outcome.rejected_reason == (
        "trading is reducing: only orders that shrink a position are accepted, and this buy "
        "of 1 AAPL would not (position 10)"
    )
    assert harness.sell("11").rejected_reason is not None  # would flip to short
    assert harness.sell("4").accepted
    assert harness.run(harness.engine.close_position, ClosePosition(symbol="AAPL")).accepted
    assert harness.position_qty() == 0


def test_risk_halted_accepts_nothing(harness) -> None:
    harness.quote("AAPL", "100.00", "100.00")
    harness.buy("10")
    _halt(harness, HALTED)
    assert harness.sell("1").rejected_reason == (
        "trading is halted: no orders are accepted until an operator resumes trading"
    )
    closing = harness.run(harness.engine.close_position, ClosePosition(symbol="AAPL"))
    assert closing.rejected_reason is not None


def test_risk_entering_halt_cancels_growing_orders_and_keeps_exits(harness) -> None:
    harness.quote("AAPL", "100.00", "100.00")
    harness.buy("10")
    growing = harness.limit(BUY, "5", "95.00").order_id
    exit_ = harness.submit(
        side=SELL,
        qty=D(10),
        order_type=OrderType.STOP,
        stop_price=D("90.00"),
        time_in_force=TimeInForce.GTC,
    ).order_id
    _halt(harness, HALTED)
    assert harness.order(growing).status is S.CANCELED
    assert harness.order(growing).reason == "trading is halted: drill"
    assert harness.order(exit_).status is S.NEW


def test_risk_daily_loss_halts_publishes_and_holds_until_resumed(make_harness) -> None:
    h = make_harness(risk=RiskLimits(max_daily_loss=D(1_000)))
    h.quote("AAPL", "100.00", "100.00")
    h.buy("100")
    working = h.limit(BUY, "10", "80.00").order_id
    h.quote("AAPL", "90.10", "90.10")  # loss 990: inside the limit
    assert h.engine.account().trading_state is ACTIVE
    h.quote("AAPL", "90.00", "90.00")  # loss 1,000: breached
    account = h.engine.account()
    assert account.trading_state is HALTED
    assert account.breached_rules == ("daily_loss",)
    breach = h.of_type(RiskLimitBreached)[-1]
    assert breach.rule == "daily_loss" and breach.action is HALTED
    assert "daily loss 1,000.00" in breach.detail
    change = h.of_type(TradingStateChanged)[-1]
    assert (change.previous, change.current, change.changed_by) == (ACTIVE, HALTED, "risk")
    assert h.order(working).status is S.CANCELED
    h.quote("AAPL", "95.00", "95.00")  # recovered: the rule clears, trading stays halted
    assert h.of_type(RiskLimitCleared)[-1].rule == "daily_loss"
    assert h.engine.account().trading_state is HALTED
    assert h.buy("1").rejected_reason is not None
    h.run(h.engine.resume_trading, ResumeTrading(operator="alice", reason="reviewed"))
    assert h.engine.account().trading_state is ACTIVE
    assert h.buy("1").accepted


def test_risk_drawdown_from_peak_moves_to_reducing(make_harness) -> None:
    h = make_harness(risk=RiskLimits(max_drawdown_pct=D(5), drawdown_action=REDUCING))
    h.quote("AAPL", "100.00", "100.00")
    h.buy("500")  # 50,000 of 100,000 equity
    h.quote("AAPL", "120.00", "120.00")  # equity peaks at 110,000
    assert h.engine.account().peak_equity == D(110_000)
    h.quote("AAPL", "109.60", "109.60")  # equity 104,800: 4.73% down
    assert h.engine.account().trading_state is ACTIVE
    h.quote("AAPL", "109.00", "109.00")  # 104,500: 5% down
    assert h.engine.account().trading_state is REDUCING
    assert h.buy("1").rejected_reason is not None
    assert h.sell("100").accepted


def test_risk_breach_while_already_reducing_escalates_to_halted(make_harness) -> None:
    h = make_harness(
        risk=RiskLimits(max_drawdown_pct=D(1), drawdown_action=REDUCING, max_daily_loss=D(3_000))
    )
    h.quote("AAPL", "100.00", "100.00")
    h.buy("500")
    h.quote("AAPL", "97.00", "97.00")  # 1,500 down: 1.5% drawdown
    assert h.engine.account().trading_state is REDUCING
    h.quote("AAPL", "93.00", "93.00")  # 3,500 down: daily loss
    assert h.engine.account().trading_state is HALTED
    assert [e.current for e in h.of_type(TradingStateChanged)] == [REDUCING, HALTED]


def test_risk_new_day_clears_the_daily_loss_rule(make_harness, times) -> None:
    h = make_harness(risk=RiskLimits(max_daily_loss=D(1_000)))
    h.quote("AAPL", "100.00", "100.00")
    h.buy("100")
    h.quote("AAPL", "89.00", "89.00")
    assert "daily_loss" in h.engine.account().breached_rules
    h.run(h.engine.resume_trading, ResumeTrading(operator="alice", reason="ok"))
    next_day = times.open + timedelta(days=1)
    h.quote("AAPL", "89.00", "89.00", at=next_day)
    started = h.of_type(RiskDayStarted)[-1]
    assert started.day == next_day.date() and started.start_equity == D(98_900)
    assert h.engine.account().breached_rules == ()
    h.quote("AAPL", "80.00", "80.00")  # another 900 down from the new start: fine
    assert h.engine.account().trading_state is ACTIVE
    h.quote("AAPL", "78.90", "78.90")
    assert h.engine.account().trading_state is HALTED


def test_risk_resume_to_reducing_and_resume_twice_is_a_no_op(harness) -> None:
    _halt(harness, HALTED)
    harness.run(
        harness.engine.resume_trading,
        ResumeTrading(operator="alice", reason="exits only", target=REDUCING),
    )
    assert harness.engine.account().trading_state is REDUCING
    again = harness.run(
        harness.engine.resume_trading,
        ResumeTrading(operator="alice", reason="exits only", target=REDUCING),
    )
    assert again.events == []


def test_risk_refusal_is_recorded_as_a_rejected_order(make_harness) -> None:
    h = _with(make_harness, max_order_notional=D(1))
    outcome = h.buy("1", client_order_id="too-big")
    order = h.engine.order_by_client_id("too-big")
    assert order is not None and order.status is S.REJECTED
    assert order.reason == outcome.rejected_reason
    assert not any(isinstance(e, OrderAccepted) and e.order_id == order.order_id for e in h.events)
