"""The paper exchange: where fills happen, at what price, for how much, at what cost."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from trader_common.contracts.trade import Liquidity, OrderSide, OrderStatus, OrderType, TimeInForce
from trading_engine.domain.assets import Asset
from trading_engine.domain.core import AccountConfig, ExchangeConfig
from trading_engine.domain.costs import (
    BpsFee,
    CompositeFee,
    FeesByAssetClass,
    FixedBpsSlippage,
    MakerTakerFee,
    NoFees,
    PerShareFee,
    VolumeShareSlippage,
)
from trading_engine.domain.errors import ConfigurationError
from trading_engine.domain.events import OrderPartiallyFilled

D = Decimal

BUY, SELL = OrderSide.BUY, OrderSide.SELL
S, T = OrderStatus, OrderType


def _prev_bar(h, close: str = "100.00") -> None:
    """A bar that closed just now, so the engine has a price; orders placed after it fill on
    the next bar."""
    c = D(close)
    h.bar("AAPL", c, c, c, c, start=h.now - timedelta(minutes=1))


# -- bars only ---------------------------------------------------------------------------------


def test_bars_market_order_placed_after_bar_fills_at_next_bar_open(harness) -> None:
    _prev_bar(harness)
    order_id = harness.buy("10").order_id
    assert harness.order(order_id).status is S.NEW  # no quote: waits for the next bar
    harness.bar("AAPL", "100.40", "101.00", "100.10", "100.80")
    order = harness.order(order_id)
    assert order.status is S.FILLED
    assert order.avg_fill_price == D("100.40")


def test_bars_bar_that_closed_before_the_order_does_not_fill_it(harness) -> None:
    _prev_bar(harness)
    harness.later(seconds=30)
    order_id = harness.buy("10").order_id
    late = harness.now - timedelta(seconds=45)
    harness.bar("AAPL", "99.00", "99.00", "99.00", "99.00", start=late - timedelta(minutes=1))
    assert harness.order(order_id).status is S.NEW


@pytest.mark.parametrize(
    ("side", "limit", "bar", "expected"),
    [
        (BUY, "99.50", ("100.00", "100.20", "99.40", "99.90"), D("99.50")),  # range reaches it
        (BUY, "99.50", ("99.20", "99.60", "99.00", "99.30"), D("99.20")),  # gaps through: open
        (BUY, "99.50", ("100.00", "100.20", "99.60", "99.90"), None),  # never reached
        (SELL, "100.50", ("100.00", "100.70", "99.90", "100.10"), D("100.50")),
        (SELL, "100.50", ("100.90", "101.00", "100.60", "100.70"), D("100.90")),
        (SELL, "100.50", ("100.00", "100.40", "99.90", "100.10"), None),
    ],
)
def test_bars_limit_fills_at_limit_when_reached_or_open_when_gapped(
    make_harness, side, limit, bar, expected
) -> None:
    h = make_harness(account=AccountConfig(starting_cash=D(100_000)))
    _prev_bar(h)
    if side is SELL:
        h.bar("AAPL", "100", "100", "100", "100")
        h.buy("10")
        h.bar("AAPL", "100", "100", "100", "100")
    order_id = h.limit(side, "10", limit).order_id
    h.bar("AAPL", *bar)
    order = h.order(order_id)
    if expected is None:
        assert order.status is S.NEW
    else:
        assert order.status is S.FILLED
        assert order.avg_fill_price == expected
        assert h.fills(order_id)[0].liquidity is Liquidity.MAKER


@pytest.mark.parametrize(
    ("stop", "bar", "expected"),
    [
        ("101.00", ("100.00", "101.50", "99.80", "101.20"), D("101.00")),  # trades through stop
        ("101.00", ("101.40", "101.60", "101.30", "101.50"), D("101.40")),  # gaps over: open
        ("101.00", ("100.00", "100.90", "99.80", "100.50"), None),
    ],
)
def test_bars_buy_stop_fills_at_stop_or_gap_open(harness, stop, bar, expected) -> None:
    _prev_bar(harness)
    order_id = harness.submit(order_type=T.STOP, stop_price=D(stop)).order_id
    harness.bar("AAPL", *bar)
    order = harness.order(order_id)
    if expected is None:
        assert order.status is S.NEW and not order.triggered
    else:
        assert order.status is S.FILLED
        assert order.avg_fill_price == expected


def test_bars_stop_limit_triggered_inside_bar_with_limit_below_stop_waits_for_next_bar(
    harness,
) -> None:
    _prev_bar(harness)
    order_id = harness.submit(
        order_type=T.STOP_LIMIT, stop_price=D("101.00"), limit_price=D("100.50")
    ).order_id
    harness.bar("AAPL", "100.10", "101.20", "100.10", "100.90")
    order = harness.order(order_id)
    # Triggered at 101.00, but whether 100.50 traded after the trigger is unknown.
    assert order.triggered and order.status is S.NEW
    harness.bar("AAPL", "100.90", "101.00", "100.40", "100.60")
    order = harness.order(order_id)
    assert order.status is S.FILLED
    assert order.avg_fill_price == D("100.50")


def test_bars_sell_trailing_stop_tracks_high_and_fills_at_stop(harness) -> None:
    _prev_bar(harness)
    harness.buy("10")
    harness.bar("AAPL", "100.00", "100.00", "100.00", "100.00")
    order_id = harness.submit(
        side=SELL, order_type=T.TRAILING_STOP, trail_percent=D(2), time_in_force=TimeInForce.GTC
    ).order_id
    harness.bar("AAPL", "100.00", "105.00", "99.90", "104.00")  # 2% under 100 is 98: no trigger
    order = harness.order(order_id)
    assert order.water_mark == D("105.00") and order.status is S.NEW
    harness.bar("AAPL", "104.00", "104.50", "102.50", "103.00")  # stop now 102.90
    order = harness.order(order_id)
    assert order.status is S.FILLED
    assert order.avg_fill_price == D("102.90")
    harness.check_identity()


def test_bars_no_fill_outside_regular_session(harness, times) -> None:
    harness.at(times.close + timedelta(minutes=10))
    harness.bar("AAPL", "100", "100", "100", "100")
    order_id = harness.buy("10", time_in_force=TimeInForce.GTC).order_id
    assert harness.order(order_id).status is S.ACCEPTED  # market closed: queued
    harness.bar("AAPL", "99.00", "99.50", "98.50", "99.10")  # after hours
    assert harness.order(order_id).status is S.ACCEPTED
    next_open = times.open + timedelta(days=1)
    harness.bar("AAPL", "101.00", "101.50", "100.50", "101.20", start=next_open)
    order = harness.order(order_id)
    assert order.status is S.FILLED and order.avg_fill_price == D("101.00")


# -- volume caps and partial fills -------------------------------------------------------------


def test_volume_cap_fills_a_share_of_each_bar_until_done(make_harness) -> None:
    h = make_harness(exchange=ExchangeConfig(max_volume_share=D("0.10")))
    _prev_bar(h)
    order_id = h.buy("250").order_id
    h.bar("AAPL", "100.00", "100.50", "99.50", "100.20", volume="1000")  # 100
    assert h.order(order_id).status is S.PARTIALLY_FILLED
    h.bar("AAPL", "100.20", "100.60", "100.00", "100.40", volume="1000")  # 100
    h.bar("AAPL", "100.40", "100.80", "100.30", "100.70", volume="2000")  # 50 left of 200 cap
    order = h.order(order_id)
    fills = h.fills(order_id)
    assert [f.fill_qty for f in fills] == [D(100), D(100), D(50)]
    assert [type(f).__name__ for f in fills] == [
        "OrderPartiallyFilled",
        "OrderPartiallyFilled",
        "OrderFilled",
    ]
    assert [f.leaves_qty for f in fills] == [D(150), D(50), D(0)]
    assert order.status is S.FILLED and order.filled_qty == D(250)
    assert order.avg_fill_price == (
        D(100) * D("100.00") + D(100) * D("100.20") + D(50) * D("100.40")
    ) / D(250)
    h.check_identity()


def test_volume_cap_is_shared_by_all_orders_in_a_bar(make_harness) -> None:
    h = make_harness(exchange=ExchangeConfig(max_volume_share=D("0.10")))
    _prev_bar(h)
    first = h.buy("80").order_id
    second = h.buy("80").order_id
    h.bar("AAPL", "100", "100", "100", "100", volume="1000")
    assert h.order(first).filled_qty == D(80)
    assert h.order(second).filled_qty == D(20)


def test_volume_cap_fok_that_cannot_fill_whole_is_canceled_unfilled(make_harness) -> None:
    h = make_harness(exchange=ExchangeConfig(max_volume_share=D("0.10")))
    _prev_bar(h)
    order_id = h.buy("500", time_in_force=TimeInForce.FOK).order_id
    h.bar("AAPL", "100", "100", "100", "100", volume="1000")
    order = h.order(order_id)
    assert order.status is S.CANCELED and order.filled_qty == 0
    assert "fok: only 100 of 500" in (order.reason or "")


def test_volume_cap_ioc_fills_what_it_can_and_cancels_the_rest(make_harness) -> None:
    h = make_harness(exchange=ExchangeConfig(max_volume_share=D("0.10")))
    _prev_bar(h)
    order_id = h.buy("500", time_in_force=TimeInForce.IOC).order_id
    h.bar("AAPL", "100", "100", "100", "100", volume="1000")
    order = h.order(order_id)
    assert order.status is S.CANCELED and order.filled_qty == D(100)


def test_volume_cap_non_fractionable_caps_to_whole_shares(make_harness) -> None:
    h = make_harness(exchange=ExchangeConfig(max_volume_share=D("0.10")))
    h.bar("XYZ", "10", "10", "10", "10", start=h.now - timedelta(minutes=1))
    order_id = h.submit(symbol="XYZ", qty=D(10)).order_id
    h.bar("XYZ", "10", "10", "10", "10", volume="55")  # 5.5 -> 5 whole shares
    assert h.order(order_id).filled_qty == D(5)


def test_partially_filled_order_can_be_canceled_and_keeps_its_fills(make_harness) -> None:
    h = make_harness(exchange=ExchangeConfig(max_volume_share=D("0.10")))
    _prev_bar(h)
    order_id = h.buy("300").order_id
    h.bar("AAPL", "100", "100", "100", "100", volume="1000")
    h.cancel(order_id)
    order = h.order(order_id)
    assert order.status is S.CANCELED and order.filled_qty == D(100)
    assert h.position_qty() == D(100)
    seen = len(h.events)
    h.bar("AAPL", "100", "100", "100", "100", volume="1000")
    assert h.position_qty() == D(100)
    assert not any(isinstance(e, OrderPartiallyFilled) for e in h.events[seen:])


# -- slippage ---------------------------------------------------------------------------------


def test_slippage_fixed_bps_moves_bar_fill_against_the_order_within_the_range(make_harness) -> None:
    h = make_harness(exchange=ExchangeConfig(slippage=FixedBpsSlippage(D(20))))
    _prev_bar(h)
    buy = h.buy("10").order_id
    h.bar("AAPL", "100.00", "100.50", "99.50", "100.20")
    assert h.order(buy).avg_fill_price == D("100.20")  # 100 * 1.002
    sell = h.sell("10").order_id
    h.bar("AAPL", "100.00", "100.50", "99.50", "100.20")
    assert h.order(sell).avg_fill_price == D("99.80")


def test_slippage_never_pushes_a_fill_outside_the_bar(make_harness) -> None:
    h = make_harness(exchange=ExchangeConfig(slippage=FixedBpsSlippage(D(500))))
    _prev_bar(h)
    buy = h.buy("10").order_id
    h.bar("AAPL", "100.00", "100.30", "99.50", "100.20")
    assert h.order(buy).avg_fill_price == D("100.30")  # 5% would be 105.00: capped at the high


def test_slippage_never_pushes_a_fill_outside_the_quote(make_harness) -> None:
    h = make_harness(exchange=ExchangeConfig(slippage=FixedBpsSlippage(D(50))))
    h.quote("AAPL", "100.00", "100.10")
    order = h.order(h.buy("10"))
    assert order.avg_fill_price == D("100.10")  # the ask is the worst price the quote offered


def test_slippage_never_pushes_a_limit_fill_through_the_limit(make_harness) -> None:
    h = make_harness(exchange=ExchangeConfig(slippage=FixedBpsSlippage(D(100))))
    _prev_bar(h, "101.00")
    order_id = h.limit(BUY, "10", "100.00").order_id
    h.bar("AAPL", "100.50", "100.80", "99.90", "100.10")
    assert h.order(order_id).avg_fill_price == D("100.00")


def test_slippage_volume_share_grows_with_the_square_of_the_share(make_harness) -> None:
    h = make_harness(exchange=ExchangeConfig(slippage=VolumeShareSlippage(D("0.1"))))
    _prev_bar(h)
    small = h.buy("10").order_id
    h.bar("AAPL", "100.00", "101.00", "99.00", "100.00", volume="1000")  # 1%: 0.001% impact
    big = h.buy("500").order_id
    h.bar("AAPL", "100.00", "101.00", "99.00", "100.00", volume="1000")  # 50%: 2.5% impact
    assert h.order(small).avg_fill_price == D("100.01")  # 100.001 rounded up to the tick
    assert h.order(big).avg_fill_price == D("101.00")  # 102.50 capped at the high


def test_slippage_config_rejects_negative_bps() -> None:
    with pytest.raises(ConfigurationError, match="must not be negative"):
        FixedBpsSlippage(D(-1))


# -- fees -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "qty", "expected"),
    [
        (PerShareFee(D("0.005"), minimum=D(1)), "10", D("1.00")),  # minimum applies
        (PerShareFee(D("0.005"), minimum=D(1)), "1000", D("5.00")),
        (PerShareFee(D("0.005"), max_fraction_of_value=D("0.00001")), "1000", D("1.00")),
        (BpsFee(D(10)), "10", D("1.00")),  # 10 bps of 1,000.00
        (BpsFee(D("0.278"), sells_only=True), "10", D("0.00")),  # a buy pays no sale fee
        (CompositeFee((PerShareFee(D("0.01")), BpsFee(D(10)))), "10", D("1.10")),
        (NoFees(), "10", D("0.00")),
    ],
)
def test_fees_models_charge_rounded_to_the_cent(make_harness, model, qty, expected) -> None:
    h = make_harness(exchange=ExchangeConfig(fees=model))
    h.quote("AAPL", "99.90", "100.00")
    order_id = h.buy(qty).order_id
    fill = h.fills(order_id)[0]
    assert fill.fee == expected
    assert h.engine.account().fees == expected
    assert h.engine.account().cash == D(100_000) - D(qty) * D(100) - expected
    h.check_identity()


def test_fees_crypto_maker_taker_charges_less_for_resting_orders(make_harness, times) -> None:
    fees = FeesByAssetClass(equity=NoFees(), crypto=MakerTakerFee(D(15), D(25)))
    h = make_harness(exchange=ExchangeConfig(fees=fees))
    h.quote("BTC/USD", "59990.00", "60000.00")
    taker = h.submit(symbol="BTC/USD", qty=D(1), time_in_force=TimeInForce.GTC).order_id
    maker = h.submit(
        symbol="BTC/USD",
        qty=D(1),
        order_type=T.LIMIT,
        limit_price=D("59000.00"),
        time_in_force=TimeInForce.GTC,
    ).order_id
    h.quote("BTC/USD", "58900.00", "59000.00")
    assert h.fills(taker)[0].liquidity is Liquidity.TAKER
    assert h.fills(taker)[0].fee == D("150.00")  # 25 bps of 60,000
    assert h.fills(maker)[0].liquidity is Liquidity.MAKER
    assert h.fills(maker)[0].fee == D("88.50")  # 15 bps of 59,000
    h.quote("AAPL", "99.90", "100.00")
    assert h.fills(h.buy("1").order_id)[0].fee == 0


def test_fill_amount_is_rounded_to_the_cent_and_cash_moves_by_it(harness) -> None:
    harness.quote("AAPL", "33.3300", "33.3333", size="1000")
    order_id = harness.buy("0.5").order_id
    fill = harness.fills(order_id)[0]
    assert fill.gross_amount == D("16.67")  # 16.66665 half up
    assert harness.engine.account().cash == D(100_000) - D("16.67")
    harness.check_identity()


# -- quotes: fills happen at the touch ----------------------------------------------------------


def test_quote_resting_buy_limit_fills_at_ask_when_ask_drops_to_it(harness) -> None:
    harness.quote("AAPL", "100.00", "100.10")
    order_id = harness.limit(BUY, "10", "99.95").order_id
    harness.quote("AAPL", "99.80", "99.90")
    assert harness.order(order_id).avg_fill_price == D("99.90")  # the better price, not 99.95


def test_quote_older_than_max_age_does_not_fill_on_arrival(make_harness) -> None:
    h = make_harness(exchange=ExchangeConfig(quote_max_age=timedelta(seconds=5)))
    h.quote("AAPL", "100.00", "100.10")
    h.later(seconds=30)
    order_id = h.buy("10").order_id
    assert h.order(order_id).status is S.NEW
    h.quote("AAPL", "100.20", "100.30")
    assert h.order(order_id).avg_fill_price == D("100.30")


def test_notional_order_buys_fractional_quantity_for_the_amount(harness) -> None:
    harness.quote("AAPL", "150.00", "150.03")
    order = harness.order(harness.submit(notional=D("1000.00")))
    assert order.status is S.FILLED
    assert order.filled_qty == D("6.665333599")  # 1000 / 150.03, down to 9 places
    fill = harness.fills(order.order_id)[0]
    assert fill.gross_amount == D("1000.00")
    assert order.qty == order.filled_qty
    harness.check_identity()


def test_notional_order_on_non_fractionable_asset_is_rejected(harness) -> None:
    harness.quote("XYZ", "10.00", "10.01")
    outcome = harness.submit(symbol="XYZ", notional=D(100))
    assert (
        outcome.rejected_reason
        == "XYZ is not fractionable: notional orders need a fractionable asset"
    )


def test_fractional_qty_on_non_fractionable_asset_is_rejected(harness) -> None:
    harness.quote("XYZ", "10.00", "10.01")
    outcome = harness.submit(symbol="XYZ", qty=D("1.5"))
    assert outcome.rejected_reason == "XYZ is not fractionable: qty must be whole, got 1.5"


def test_fractional_equity_order_must_be_a_day_order(harness) -> None:
    harness.quote("AAPL", "100.00", "100.10")
    outcome = harness.submit(qty=D("1.5"), time_in_force=TimeInForce.GTC)
    assert "fractional and notional equity orders must be day orders" in (
        outcome.rejected_reason or ""
    )


def test_sub_penny_limit_price_is_rejected_for_stocks_above_a_dollar(harness) -> None:
    harness.quote("AAPL", "100.00", "100.10")
    outcome = harness.limit(BUY, "10", "100.005")
    assert outcome.rejected_reason == "limit_price 100.005 is not a multiple of AAPL's tick 0.01"


def test_unknown_symbol_is_rejected_with_reason(harness) -> None:
    outcome = harness.submit(symbol="NOPE", qty=D(1))
    assert outcome.rejected_reason is not None
    assert "unknown asset NOPE" in outcome.rejected_reason
    assert harness.order(outcome).status is S.REJECTED


def test_asset_crypto_with_session_calendar_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="around the clock"):
        Asset("ETH/USD", asset_class=Asset.crypto("BTC/USD").asset_class, calendar="XNYS")
