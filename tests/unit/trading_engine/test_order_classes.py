"""Bracket, OCO and OTO orders: held children, activation, one-cancels-other."""

from __future__ import annotations

from decimal import Decimal

import pytest

from trader_common.contracts.trade import (
    OrderClass,
    OrderLeg,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from trading_engine.domain.commands import StopLoss, TakeProfit
from trading_engine.domain.core import ExchangeConfig
from trading_engine.domain.events import OrderQuantityReduced

D = Decimal

BUY, SELL = OrderSide.BUY, OrderSide.SELL
S = OrderStatus


def _bracket(h, *, qty="10", entry_limit: str | None = None, sl_limit: str | None = None):
    entry = {"order_type": OrderType.LIMIT, "limit_price": D(entry_limit)} if entry_limit else {}
    outcome = h.submit(
        side=BUY,
        qty=D(qty),
        order_class=OrderClass.BRACKET,
        take_profit=TakeProfit(limit_price=D("110.00")),
        stop_loss=StopLoss(stop_price=D("95.00"), limit_price=D(sl_limit) if sl_limit else None),
        **entry,
    )
    parent = h.order(outcome)
    tp, sl = (h.order(child) for child in parent.child_ids)
    return parent, tp, sl


def test_bracket_children_are_held_until_the_entry_fills(harness) -> None:
    harness.quote("AAPL", "100.00", "100.10")
    parent, tp, sl = _bracket(harness, entry_limit="99.00")
    assert parent.status is S.NEW
    assert (tp.status, sl.status) == (S.HELD, S.HELD)
    assert (tp.leg, sl.leg) == (OrderLeg.TAKE_PROFIT, OrderLeg.STOP_LOSS)
    assert (tp.side, sl.side) == (SELL, SELL)
    assert (tp.order_type, sl.order_type) == (OrderType.LIMIT, OrderType.STOP)
    assert tp.oco_sibling_id == sl.order_id and sl.oco_sibling_id == tp.order_id
    harness.quote("AAPL", "98.80", "98.90")
    tp, sl = harness.order(tp.order_id), harness.order(sl.order_id)
    assert harness.order(parent.order_id).status is S.FILLED
    assert (tp.status, sl.status) == (S.NEW, S.NEW)  # activated by the entry's fill
    assert (tp.qty, sl.qty) == (D(10), D(10))


def test_bracket_entry_gapping_below_the_stop_is_stopped_out_on_the_same_quote(harness) -> None:
    harness.quote("AAPL", "100.00", "100.10")
    parent, tp, sl = _bracket(harness, entry_limit="99.00")
    harness.quote("AAPL", "80.00", "80.10")  # a quote is one instant: the stop is through it
    assert harness.order(parent.order_id).avg_fill_price == D("80.10")
    assert harness.order(sl.order_id).status is S.FILLED
    assert harness.order(sl.order_id).avg_fill_price == D("80.00")
    assert harness.order(tp.order_id).status is S.CANCELED
    assert harness.position_qty() == 0


def test_bracket_take_profit_fill_cancels_the_stop_loss(harness) -> None:
    harness.quote("AAPL", "100.00", "100.10")
    parent, tp, sl = _bracket(harness)
    assert harness.order(parent.order_id).status is S.FILLED
    harness.quote("AAPL", "110.00", "110.10")
    assert harness.order(tp.order_id).status is S.FILLED
    sl_now = harness.order(sl.order_id)
    assert sl_now.status is S.CANCELED
    assert "oco sibling" in (sl_now.reason or "")
    assert harness.position_qty() == 0
    harness.check_identity()


def test_bracket_stop_loss_fill_cancels_the_take_profit(harness) -> None:
    harness.quote("AAPL", "100.00", "100.10")
    _, tp, sl = _bracket(harness)
    harness.quote("AAPL", "94.00", "94.10")
    assert harness.order(sl.order_id).status is S.FILLED
    assert harness.order(sl.order_id).avg_fill_price == D("94.00")
    assert harness.order(tp.order_id).status is S.CANCELED
    assert harness.position_qty() == 0


def test_bracket_partial_take_profit_shrinks_the_stop_loss(make_harness) -> None:
    from datetime import timedelta

    h = make_harness(exchange=ExchangeConfig(max_volume_share=D("0.01")))
    h.bar("AAPL", "100", "100", "100", "100", start=h.now - timedelta(minutes=1))
    parent, tp, sl = _bracket(h, qty="100")
    h.bar("AAPL", "100", "100", "100", "100", volume="10000")  # entry fills 100
    assert h.order(parent.order_id).status is S.FILLED
    h.bar("AAPL", "109", "111", "109", "110", volume="4000")  # tp fills 40
    assert h.order(tp.order_id).filled_qty == D(40)
    reduced = [e for e in h.of_type(OrderQuantityReduced) if e.order_id == sl.order_id]
    assert reduced and reduced[-1].qty == D(60)
    assert h.order(sl.order_id).qty == D(60)
    h.bar("AAPL", "96", "96", "90", "91", volume="100000")  # stop fills the other 60
    assert h.order(sl.order_id).status is S.FILLED
    assert h.order(tp.order_id).status is S.CANCELED
    assert h.position_qty() == 0
    h.check_identity()


def test_bracket_entry_canceled_unfilled_cancels_the_children(harness) -> None:
    harness.quote("AAPL", "100.00", "100.10")
    parent, tp, sl = _bracket(harness, entry_limit="99.00")
    harness.cancel(parent.order_id)
    assert harness.order(tp.order_id).status is S.CANCELED
    assert harness.order(sl.order_id).status is S.CANCELED
    assert harness.order(tp.order_id).reason == "parent order canceled"


def test_bracket_entry_canceled_after_partial_fill_protects_what_filled(make_harness) -> None:
    from datetime import timedelta

    h = make_harness(exchange=ExchangeConfig(max_volume_share=D("0.01")))
    h.bar("AAPL", "100", "100", "100", "100", start=h.now - timedelta(minutes=1))
    parent, tp, sl = _bracket(h, qty="100")
    h.bar("AAPL", "100", "100", "100", "100", volume="3000")  # 30 fill
    h.cancel(parent.order_id)
    tp, sl = h.order(tp.order_id), h.order(sl.order_id)
    assert (tp.status, sl.status) == (S.NEW, S.NEW)
    assert (tp.qty, sl.qty) == (D(30), D(30))


def test_bracket_day_children_expire_with_the_session(harness, times) -> None:
    harness.quote("AAPL", "100.00", "100.10")
    _, tp, sl = _bracket(harness)
    harness.advance(times.close)
    assert harness.order(tp.order_id).status is S.EXPIRED
    assert harness.order(sl.order_id).status is S.EXPIRED


def test_bracket_stop_limit_stop_loss_leg(harness) -> None:
    harness.quote("AAPL", "100.00", "100.10")
    _, _, sl = _bracket(harness, sl_limit="94.50")
    assert sl.order_type is OrderType.STOP_LIMIT
    harness.quote("AAPL", "94.00", "94.10")  # triggered, but 94.00 is under the 94.50 limit
    sl_now = harness.order(sl.order_id)
    assert sl_now.triggered and sl_now.status is S.NEW
    harness.quote("AAPL", "94.60", "94.70")
    assert harness.order(sl.order_id).status is S.FILLED
    assert harness.order(sl.order_id).avg_fill_price == D("94.60")


def test_bracket_with_fractional_qty_is_rejected(harness) -> None:
    harness.quote("AAPL", "100.00", "100.10")
    outcome = harness.submit(
        side=BUY,
        qty=D("1.5"),
        order_class=OrderClass.BRACKET,
        take_profit=TakeProfit(limit_price=D("110.00")),
        stop_loss=StopLoss(stop_price=D("95.00")),
    )
    assert outcome.rejected_reason == "bracket orders take whole quantities of AAPL"


def _oco(h, qty: str = "10"):
    outcome = h.submit(
        side=SELL,
        qty=D(qty),
        order_class=OrderClass.OCO,
        order_type=OrderType.LIMIT,
        limit_price=D("110.00"),
        take_profit=TakeProfit(limit_price=D("110.00")),
        stop_loss=StopLoss(stop_price=D("95.00")),
        time_in_force=TimeInForce.GTC,
    )
    return outcome


def test_oco_exits_a_position_with_both_legs_working(harness) -> None:
    harness.quote("AAPL", "100.00", "100.10")
    harness.buy("10")
    outcome = _oco(harness)
    tp = harness.order(outcome)
    sl = harness.order(tp.oco_sibling_id)
    assert (tp.status, sl.status) == (S.NEW, S.NEW)
    assert tp.leg is OrderLeg.TAKE_PROFIT and sl.leg is OrderLeg.STOP_LOSS
    harness.quote("AAPL", "94.90", "95.00")
    assert harness.order(sl.order_id).status is S.FILLED
    assert harness.order(tp.order_id).status is S.CANCELED
    assert harness.position_qty() == 0


def test_oco_cancel_one_leg_cancels_both(harness) -> None:
    harness.quote("AAPL", "100.00", "100.10")
    harness.buy("10")
    tp = harness.order(_oco(harness))
    harness.cancel(tp.order_id)
    assert harness.order(tp.oco_sibling_id).status is S.CANCELED


def test_oco_larger_than_the_position_is_rejected(make_harness) -> None:
    from trading_engine.domain.core import AccountConfig
    from trading_engine.domain.events import AccountType

    h = make_harness(account=AccountConfig(account_type=AccountType.CASH, shorting_enabled=False))
    h.quote("AAPL", "100.00", "100.10")
    h.buy("5")
    outcome = _oco(h, qty="10")
    assert outcome.rejected_reason is not None
    assert "would sell short" in outcome.rejected_reason


def test_oco_on_margin_account_larger_than_position_is_rejected(harness) -> None:
    harness.quote("AAPL", "100.00", "100.10")
    harness.buy("5")
    outcome = _oco(harness, qty="10")
    assert outcome.rejected_reason is not None
    assert "an oco order exits a position" in outcome.rejected_reason


@pytest.mark.parametrize(
    ("leg", "expected_type"),
    [
        ({"take_profit": TakeProfit(limit_price=D("110.00"))}, OrderType.LIMIT),
        ({"stop_loss": StopLoss(stop_price=D("95.00"))}, OrderType.STOP),
    ],
)
def test_oto_one_child_activates_when_the_entry_fills(harness, leg, expected_type) -> None:
    harness.quote("AAPL", "100.00", "100.10")
    outcome = harness.submit(
        side=BUY,
        qty=D(10),
        order_class=OrderClass.OTO,
        order_type=OrderType.LIMIT,
        limit_price=D("99.00"),
        **leg,
    )
    parent = harness.order(outcome)
    (child_id,) = parent.child_ids
    assert harness.order(child_id).status is S.HELD
    assert harness.order(child_id).oco_sibling_id is None
    harness.quote("AAPL", "98.90", "99.00")
    child = harness.order(child_id)
    assert child.status is S.NEW and child.order_type is expected_type and child.qty == D(10)
