"""Replace and cancel: new terms make a new order; fills stay where they happened."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from trader_common.contracts.trade import OrderSide, OrderStatus, OrderType, TimeInForce
from trading_engine.domain.commands import CancelAllOrders, CancelOrder
from trading_engine.domain.core import ExchangeConfig
from trading_engine.domain.errors import InvalidOrderError, UnknownOrderError
from trading_engine.domain.events import OrderReplaced
from trading_engine.domain.risk import RiskLimits

D = Decimal

BUY, SELL = OrderSide.BUY, OrderSide.SELL
S = OrderStatus


def test_replace_limit_price_makes_a_new_order_and_retires_the_old(harness) -> None:
    harness.quote("AAPL", "100.00", "100.10")
    old = harness.limit(BUY, "10", "99.00").order_id
    outcome = harness.replace(old, limit_price=D("99.50"), client_order_id="moved")
    new = harness.order(outcome)
    assert harness.order(old).status is S.REPLACED
    assert harness.order(old).replaced_by == new.order_id
    assert new.replaces == old and new.client_order_id == "moved"
    assert (new.status, new.limit_price, new.qty) == (S.NEW, D("99.50"), D(10))
    replaced = harness.of_type(OrderReplaced)[-1]
    assert replaced.order_id == old and replaced.replaced_by == new.order_id


def test_replace_to_a_marketable_price_fills_at_once(harness) -> None:
    harness.quote("AAPL", "100.00", "100.10")
    old = harness.limit(BUY, "10", "99.00").order_id
    new = harness.order(harness.replace(old, limit_price=D("100.20")))
    assert new.status is S.FILLED and new.avg_fill_price == D("100.10")


def test_replace_partially_filled_order_keeps_fills_and_works_the_new_total(make_harness) -> None:
    h = make_harness(exchange=ExchangeConfig(max_volume_share=D("0.10")))
    h.bar("AAPL", "100", "100", "100", "100", start=h.now - timedelta(minutes=1))
    old = h.limit(BUY, "300", "100.00").order_id
    h.bar("AAPL", "100", "100", "100", "100", volume="1000")  # 100 of 300 fill
    new = h.order(h.replace(old, qty=D(250), limit_price=D("100.50")))
    assert h.order(old).status is S.REPLACED and h.order(old).filled_qty == D(100)
    assert new.qty == D(150)  # 250 in total, 100 already done
    h.bar("AAPL", "100", "100", "100", "100", volume="10000")
    assert h.order(new.order_id).status is S.FILLED
    assert h.position_qty() == D(250)


def test_replace_quantity_not_above_filled_raises(make_harness) -> None:
    h = make_harness(exchange=ExchangeConfig(max_volume_share=D("0.10")))
    h.bar("AAPL", "100", "100", "100", "100", start=h.now - timedelta(minutes=1))
    old = h.limit(BUY, "300", "100.00").order_id
    h.bar("AAPL", "100", "100", "100", "100", volume="1000")
    with pytest.raises(
        InvalidOrderError, match="new quantity 100 must be above the 100 already filled"
    ):
        h.replace(old, qty=D(100))


@pytest.mark.parametrize(
    ("order_type", "prices", "change", "field", "expected"),
    [
        (
            OrderType.STOP,
            {"stop_price": D("105.00")},
            {"stop_price": D("104.00")},
            "stop_price",
            D("104.00"),
        ),
        (
            OrderType.STOP_LIMIT,
            {"stop_price": D("105.00"), "limit_price": D("105.50")},
            {"limit_price": D("106.00")},
            "limit_price",
            D("106.00"),
        ),
        (
            OrderType.TRAILING_STOP,
            {"trail_price": D("2.00")},
            {"trail_percent": D(1)},
            "trail_percent",
            D(1),
        ),
        (
            OrderType.LIMIT,
            {"limit_price": D("99.00")},
            {"time_in_force": TimeInForce.GTC},
            "time_in_force",
            TimeInForce.GTC,
        ),
        (OrderType.LIMIT, {"limit_price": D("99.00")}, {"qty": D(20)}, "qty", D(20)),
    ],
)
def test_replace_each_field_is_carried_to_the_new_order(
    harness, order_type, prices, change, field, expected
) -> None:
    harness.quote("AAPL", "100.00", "100.10")
    old = harness.submit(side=BUY, qty=D(10), order_type=order_type, **prices).order_id
    new = harness.order(harness.replace(old, **change))
    assert getattr(new, field) == expected
    if field == "trail_percent":
        assert new.trail_price is None
        assert new.water_mark == harness.order(old).water_mark


@pytest.mark.parametrize(
    ("order_type", "prices", "change", "message"),
    [
        (OrderType.MARKET, {}, {"limit_price": D(1)}, "market order has no limit_price"),
        (
            OrderType.LIMIT,
            {"limit_price": D("90")},
            {"stop_price": D(1)},
            "limit order has no stop_price",
        ),
        (
            OrderType.LIMIT,
            {"limit_price": D("90")},
            {"trail_price": D(1)},
            "limit order has no trail",
        ),
        (
            OrderType.LIMIT,
            {"limit_price": D("90")},
            {"time_in_force": TimeInForce.OPG},
            None,
        ),
    ],
)
def test_replace_field_the_order_does_not_have_raises(
    harness, order_type, prices, change, message
) -> None:
    if order_type is OrderType.MARKET:
        old = harness.submit(side=BUY, qty=D(10)).order_id  # no quote: stays working
        harness.bar("AAPL", "100", "100", "100", "100", start=harness.now - timedelta(days=1))
        old = harness.submit(side=BUY, qty=D(10)).order_id
    else:
        old = harness.submit(side=BUY, qty=D(10), order_type=order_type, **prices).order_id
    if message is None:
        outcome = harness.replace(old, **change)  # opg during the session: refused, not raised
        assert outcome.rejected_reason is not None
        assert outcome.rejected_reason.startswith("replace refused: opg orders are taken only")
        assert harness.order(old).status is S.NEW
        return
    with pytest.raises(InvalidOrderError, match=message):
        harness.replace(old, **change)


def test_replace_refused_by_risk_leaves_the_order_working(make_harness) -> None:
    h = make_harness(risk=RiskLimits(max_order_notional=D(2_000)))
    h.quote("AAPL", "100.00", "100.10")
    old = h.limit(BUY, "10", "99.00").order_id
    outcome = h.replace(old, qty=D(30))
    assert outcome.rejected_reason is not None
    assert outcome.rejected_reason.startswith("replace refused: order value 2,970.00 is above")
    assert outcome.events == []
    assert h.order(old).status is S.NEW


def test_replace_with_repeated_client_order_id_returns_existing(harness) -> None:
    harness.quote("AAPL", "100.00", "100.10")
    old = harness.limit(BUY, "10", "99.00").order_id
    first = harness.replace(old, limit_price=D("98.00"), client_order_id="r1")
    again = harness.replace(first.order_id, limit_price=D("97.00"), client_order_id="r1")
    assert again.duplicate and again.order_id == first.order_id and again.events == []


def test_cancel_working_order_by_client_order_id(harness) -> None:
    harness.quote("AAPL", "100.00", "100.10")
    order_id = harness.limit(BUY, "10", "99.00", client_order_id="mine").order_id
    outcome = harness.run(harness.engine.cancel_order, CancelOrder(client_order_id="mine"))
    assert outcome.order_id == order_id
    assert harness.order(order_id).status is S.CANCELED


def test_cancel_twice_changes_nothing_the_second_time(harness) -> None:
    harness.quote("AAPL", "100.00", "100.10")
    order_id = harness.limit(BUY, "10", "99.00").order_id
    harness.cancel(order_id)
    again = harness.cancel(order_id)
    assert again.duplicate and again.events == []


def test_cancel_unknown_order_raises_naming_it(harness) -> None:
    with pytest.raises(
        UnknownOrderError, match="no order with id 00000000-0000-0000-0000-0000000003e7"
    ):
        harness.cancel(UUID(int=999))


def test_cancel_all_orders_for_one_symbol_or_all(harness) -> None:
    harness.quote("AAPL", "100.00", "100.10")
    harness.quote("MSFT", "300.00", "300.10")
    a1 = harness.limit(BUY, "1", "90.00").order_id
    a2 = harness.limit(BUY, "1", "91.00").order_id
    m1 = harness.limit(BUY, "1", "290.00", symbol="MSFT").order_id
    harness.run(harness.engine.cancel_all_orders, CancelAllOrders(symbol="AAPL"))
    assert harness.order(a1).status is S.CANCELED and harness.order(a2).status is S.CANCELED
    assert harness.order(m1).status is S.NEW
    harness.run(harness.engine.cancel_all_orders, CancelAllOrders())
    assert harness.order(m1).status is S.CANCELED
    assert harness.engine.account().open_orders == 0
    assert harness.engine.account().reserved_for_orders == 0
