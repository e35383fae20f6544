"""Paths the submit hot path takes shortcuts on (see docs/trading-engine.md, Performance): the
shortcuts must decide exactly as the general code does."""

from __future__ import annotations

import pickle
from decimal import Decimal
from uuid import UUID

from trader_common.contracts.trade import OrderClass, OrderSide, TimeInForce
from trading_engine.domain.commands import StopLoss, TakeProfit
from trading_engine.service.clock import random_ids


def test_random_ids_are_ordinary_version_4_uuids() -> None:
    new_id = random_ids()
    ids = [new_id() for _ in range(1_000)]
    assert len(set(ids)) == len(ids)
    for uid in ids[:50]:
        same = UUID(int=uid.int, version=4)
        assert uid.version == 4 and uid == same and hash(uid) == hash(same)
        assert UUID(str(uid)) == uid and pickle.loads(pickle.dumps(uid)) == uid
        assert uid.is_safe is same.is_safe


def test_bracket_leg_prices_are_checked_against_the_tick(harness) -> None:
    harness.quote("AAPL", "100.00", "100.10")
    outcome = harness.submit(
        qty=Decimal(10),
        order_class=OrderClass.BRACKET,
        take_profit=TakeProfit(limit_price=Decimal("110.005")),
        stop_loss=StopLoss(stop_price=Decimal("90.00")),
    )
    assert outcome.rejected_reason == (
        "take_profit.limit_price 110.005 is not a multiple of AAPL's tick 0.01"
    )
    outcome = harness.submit(
        qty=Decimal(10),
        order_class=OrderClass.BRACKET,
        take_profit=TakeProfit(limit_price=Decimal("110.00")),
        stop_loss=StopLoss(stop_price=Decimal("90.00"), limit_price=Decimal("89.999")),
    )
    assert outcome.rejected_reason == (
        "stop_loss.limit_price 89.999 is not a multiple of AAPL's tick 0.01"
    )


def test_whole_quantities_of_a_whole_share_asset_are_not_fractional(harness) -> None:
    harness.quote("XYZ", "20.00", "20.02")
    outcome = harness.submit(symbol="XYZ", qty=Decimal(3), time_in_force=TimeInForce.GTC)
    assert outcome.accepted
    refused = harness.submit(symbol="XYZ", qty=Decimal("1.5"), time_in_force=TimeInForce.GTC)
    assert refused.rejected_reason == "XYZ is not fractionable: qty must be whole, got 1.5"


def test_market_orders_fill_at_the_touch_with_the_price_collar_on(make_harness) -> None:
    from trading_engine.domain.risk import RiskLimits

    h = make_harness(risk=RiskLimits(price_collar_pct=Decimal(1)))
    h.quote("AAPL", "100.00", "100.10")
    bought = h.submit(side=OrderSide.BUY, qty=Decimal(5))
    assert bought.accepted
    assert h.engine.position("AAPL") is not None
    far = h.limit(OrderSide.BUY, "5", "90.00")
    assert far.rejected_reason is not None and "price collar" in far.rejected_reason
