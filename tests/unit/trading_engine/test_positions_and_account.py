"""Positions and the account: average price, realized and unrealized P&L, fees, cash, equity,
buying power, short sales."""

from __future__ import annotations

from decimal import Decimal

import pytest

from trader_common.contracts.trade import OrderClass, OrderSide, OrderStatus, OrderType
from trading_engine.domain.commands import ClosePosition, StopLoss, TakeProfit
from trading_engine.domain.core import AccountConfig, ExchangeConfig
from trading_engine.domain.costs import PerShareFee
from trading_engine.domain.errors import ConfigurationError, InvalidCommandError
from trading_engine.domain.events import AccountType
from trading_engine.domain.portfolio import Account

D = Decimal

BUY, SELL = OrderSide.BUY, OrderSide.SELL
S = OrderStatus


def test_position_long_average_price_and_unrealized_pnl(harness) -> None:
    harness.quote("AAPL", "100.00", "100.00")
    harness.buy("10")
    harness.quote("AAPL", "110.00", "110.00")
    harness.buy("10")
    harness.quote("AAPL", "120.00", "120.00")
    p = harness.engine.position("AAPL")
    assert p.qty == D(20)
    assert p.avg_entry_price == D("105.00")
    assert p.market_price == D("120.00")
    assert p.unrealized_pnl == D("300.00")
    assert p.realized_pnl == 0
    harness.check_identity()


def test_position_partial_close_realizes_against_average_cost(harness) -> None:
    harness.quote("AAPL", "100.00", "100.00")
    harness.buy("10")
    harness.quote("AAPL", "110.00", "110.00")
    harness.buy("10")
    harness.quote("AAPL", "115.00", "115.00")
    harness.sell("5")
    p = harness.engine.position("AAPL")
    assert p.qty == D(15)
    assert p.realized_pnl == D("50.00")  # 5 x (115 - 105)
    assert p.avg_entry_price == D("105.00")
    assert p.cost_basis == D("1575.00")
    harness.check_identity()


def test_position_short_profit_when_price_falls(harness) -> None:
    harness.quote("AAPL", "100.00", "100.00")
    harness.sell("10")
    harness.quote("AAPL", "90.00", "90.00")
    p = harness.engine.position("AAPL")
    assert p.qty == D(-10)
    assert p.avg_entry_price == D("100.00")
    assert p.unrealized_pnl == D("100.00")
    a = harness.engine.account()
    assert a.cash == D(101_000)  # short proceeds are cash
    assert a.equity == D(100_100)
    harness.buy("10")
    assert harness.engine.position("AAPL").realized_pnl == D("100.00")
    assert harness.engine.account().cash == D(100_100)
    harness.check_identity()


def test_position_flip_from_long_to_short_in_one_fill(harness) -> None:
    harness.quote("AAPL", "100.00", "100.00")
    harness.buy("10")
    harness.quote("AAPL", "104.00", "104.00")
    harness.sell("25")
    p = harness.engine.position("AAPL")
    assert p.qty == D(-15)
    assert p.realized_pnl == D("40.00")
    assert p.avg_entry_price == D("104.00")
    assert p.cost_basis == D("-1560.00")
    harness.check_identity()


def test_position_fees_reduce_cash_and_are_totalled(make_harness) -> None:
    h = make_harness(exchange=ExchangeConfig(fees=PerShareFee(D("0.01"), minimum=D("1.00"))))
    h.quote("AAPL", "100.00", "100.00")
    h.buy("10")
    h.sell("10")
    a = h.engine.account()
    assert a.fees == D("2.00")
    assert a.cash == D(100_000) - D("2.00")
    assert a.realized_pnl == 0  # P&L before fees; fees are their own line
    assert h.engine.position("AAPL").fees == D("2.00")
    h.check_identity()


def test_account_cash_buying_power_is_cash_less_reserved_orders(make_harness) -> None:
    h = make_harness(
        account=AccountConfig(
            starting_cash=D(10_000), account_type=AccountType.CASH, shorting_enabled=False
        )
    )
    h.quote("AAPL", "100.00", "100.10")
    h.limit(BUY, "30", "99.00")  # reserves 2,970
    a = h.engine.account()
    assert a.reserved_for_orders == D("2970.00")
    assert a.buying_power == D("7030.00")
    refused = h.limit(BUY, "72", "99.00")
    assert refused.rejected_reason == (
        "insufficient buying power: this order needs 7,128.00, 7,030.00 is available"
    )
    assert h.limit(BUY, "71", "99.00").accepted  # 7,029.00 fits
    assert h.engine.account().buying_power == D("1.00")


def test_account_margin_buying_power_uses_the_multiplier(make_harness) -> None:
    h = make_harness(account=AccountConfig(starting_cash=D(10_000), margin_multiplier=D(4)))
    h.quote("AAPL", "100.00", "100.00")
    assert h.engine.account().buying_power == D(40_000)
    h.buy("300")
    a = h.engine.account()
    assert a.cash == D(-20_000)  # borrowed
    assert a.equity == D(10_000)
    assert a.buying_power == D(10_000)
    assert h.buy("101").rejected_reason is not None
    assert h.buy("100").accepted


def test_account_cash_cannot_sell_short(make_harness) -> None:
    h = make_harness(account=AccountConfig(account_type=AccountType.CASH, shorting_enabled=False))
    h.quote("AAPL", "100.00", "100.10")
    h.buy("5")
    outcome = h.sell("10")
    assert outcome.rejected_reason is not None
    assert "would sell short, which a cash account does not allow" in outcome.rejected_reason
    assert "position 5" in outcome.rejected_reason
    assert h.sell("5").accepted


def test_account_open_sell_orders_hold_the_shares_they_would_sell(make_harness) -> None:
    h = make_harness(account=AccountConfig(account_type=AccountType.CASH, shorting_enabled=False))
    h.quote("AAPL", "100.00", "100.10")
    h.buy("10")
    h.limit(SELL, "8", "120.00")
    outcome = h.sell("5")
    assert outcome.rejected_reason is not None
    assert "8 already on sell orders" in outcome.rejected_reason


def test_account_non_shortable_asset_cannot_be_sold_short(harness) -> None:
    harness.quote("XYZ", "10.00", "10.01")
    outcome = harness.submit(symbol="XYZ", side=SELL, qty=D(5))
    assert outcome.rejected_reason == "XYZ is not shortable (position 0, 0 already on sell orders)"


def test_account_fractional_short_sale_is_refused(harness) -> None:
    harness.quote("AAPL", "100.00", "100.10")
    harness.buy("0.5")
    assert harness.sell("1.5").accepted  # closes 0.5, opens exactly one whole share short
    outcome = harness.sell("1.7")
    assert outcome.rejected_reason is not None
    assert "short sales of AAPL must be whole shares" in outcome.rejected_reason


def _oco_exit(h, qty: str = "10"):
    return h.submit(
        side=SELL,
        qty=D(qty),
        order_class=OrderClass.OCO,
        order_type=OrderType.LIMIT,
        limit_price=D("120.00"),
        take_profit=TakeProfit(limit_price=D("120.00")),
        stop_loss=StopLoss(stop_price=D("90.00")),
    )


def test_account_exit_orders_hold_the_shares_they_protect(make_harness) -> None:
    h = make_harness(account=AccountConfig(account_type=AccountType.CASH, shorting_enabled=False))
    h.quote("AAPL", "100.00", "100.10")
    h.buy("10")
    _oco_exit(h)
    outcome = h.sell("6")
    assert outcome.rejected_reason is not None
    assert "(position 10, 0 already on sell orders, 10 held by exit orders)" in (
        outcome.rejected_reason
    )
    assert _oco_exit(h).rejected_reason is not None  # a second exit for the same shares


def test_account_exit_orders_count_once_per_oco_pair(harness) -> None:
    harness.quote("AAPL", "100.00", "100.10")
    harness.buy("10")
    _oco_exit(harness, "6")
    assert harness.engine.state.exit_sell_qty["AAPL"] == D(6)
    assert harness.sell("4").accepted  # 10 held, 6 protected: 4 are free


def test_account_no_short_guard_at_fill_time_caps_a_sell(make_harness) -> None:
    """A cash account never goes short, even when an order on its books asks for more than
    the position by the time it fills: the fill is capped and the rest canceled."""
    h = make_harness(account=AccountConfig(account_type=AccountType.CASH, shorting_enabled=False))
    h.quote("AAPL", "100.00", "100.10")
    h.buy("10")
    take_profit = _oco_exit(h).order_id
    bigger = h.replace(take_profit, qty=D(20)).order_id  # an exit leg may be resized
    h.quote("AAPL", "121.00", "121.10")
    order = h.order(bigger)
    assert order.status is S.CANCELED and order.filled_qty == D(10)
    assert order.reason == "the rest would sell short, which the account does not allow"
    assert h.position_qty() == 0
    assert h.order(order.oco_sibling_id).status is S.CANCELED


def test_close_position_sells_everything_and_cancels_working_orders(harness) -> None:
    harness.quote("AAPL", "100.00", "100.10")
    harness.buy("10")
    resting = harness.limit(SELL, "5", "150.00").order_id
    outcome = harness.run(harness.engine.close_position, ClosePosition(symbol="AAPL"))
    assert outcome.accepted
    assert harness.order(resting).status is S.CANCELED
    assert harness.position_qty() == 0
    closing = harness.order(outcome)
    assert closing.side is SELL and closing.qty == D(10) and closing.order_type is OrderType.MARKET


def test_close_position_part_of_a_short(harness) -> None:
    harness.quote("AAPL", "100.00", "100.10")
    harness.sell("10")
    harness.run(harness.engine.close_position, ClosePosition(symbol="AAPL", qty=D(4)))
    assert harness.position_qty() == D(-6)


def test_close_position_without_position_is_refused_with_reason(harness) -> None:
    outcome = harness.run(harness.engine.close_position, ClosePosition(symbol="MSFT"))
    assert outcome.rejected_reason == "no open position in MSFT to close"


def test_close_position_more_than_held_raises(harness) -> None:
    harness.quote("AAPL", "100.00", "100.10")
    harness.buy("2")
    with pytest.raises(InvalidCommandError, match="cannot close 3 AAPL: the position is 2"):
        harness.engine.close_position(ClosePosition(symbol="AAPL", qty=D(3)))


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            dict(account_type=AccountType.CASH, shorting_enabled=True),
            "cash account cannot sell short",
        ),
        (dict(margin_multiplier=D("0.5")), "margin_multiplier must be at least 1"),
        (dict(starting_cash=D(-1)), "starting_cash must not be negative"),
        (dict(account_id=""), "account_id must not be empty"),
    ],
)
def test_account_config_invalid_raises(config, message) -> None:
    with pytest.raises(ConfigurationError, match=message):
        AccountConfig(**config)


def test_account_apply_fill_identity_holds_through_rounding() -> None:
    account = Account("a", AccountType.MARGIN, D(1000), D(2), True, cash=D(1000))
    # Thirds do not divide into cents: the basis removed is rounded, the identity still holds.
    account.apply_fill("X", True, D(3), D("33.33"), D("99.99"), D("0.01"))
    account.apply_fill("X", False, D(1), D("40.00"), D("40.00"), D("0.01"))
    account.set_mark("X", D("41.005"))
    left = account.cash + account.market_value
    right = account.starting_cash + account.realized_pnl + account.unrealized_pnl - account.fees
    assert left == right
    assert account.positions["X"].cost_basis == D("66.66")
    assert account.realized_pnl == D("6.67")
