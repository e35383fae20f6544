"""Every order type under every time in force: what it accepts, when it fills, at what price,
and when it ends. The market: AAPL bid 100.00 / ask 100.10 during the session."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from trader_common.contracts.trade import Liquidity, OrderSide, OrderStatus, OrderType, TimeInForce
from trading_engine.domain.errors import InvalidOrderError
from trading_engine.domain.events import OrderTriggered

D = Decimal

T, TIF, S = OrderType, TimeInForce, OrderStatus
BUY = OrderSide.BUY

PRICES = {
    T.MARKET: {},
    T.LIMIT: {"limit_price": D("99.00")},
    T.STOP: {"stop_price": D("101.00")},
    T.STOP_LIMIT: {"stop_price": D("101.00"), "limit_price": D("101.50")},
    T.TRAILING_STOP: {"trail_price": D("1.00")},
}
INVALID = {
    (T.STOP, TIF.OPG),
    (T.STOP, TIF.CLS),
    (T.STOP_LIMIT, TIF.OPG),
    (T.STOP_LIMIT, TIF.CLS),
    (T.TRAILING_STOP, TIF.OPG),
    (T.TRAILING_STOP, TIF.CLS),
    (T.TRAILING_STOP, TIF.IOC),
    (T.TRAILING_STOP, TIF.FOK),
}


def _submit(h, kind: OrderType, tif: TimeInForce, **extra):
    return h.submit(
        side=BUY, qty=D(10), order_type=kind, time_in_force=tif, **{**PRICES[kind], **extra}
    )


@pytest.mark.parametrize(("kind", "tif"), sorted(INVALID), ids=lambda v: v.value)
def test_order_type_time_in_force_unsupported_pair_raises_naming_both(
    harness, kind: OrderType, tif: TimeInForce
) -> None:
    with pytest.raises(
        InvalidOrderError, match=f"time_in_force {tif.value} takes .* not {kind.value}"
    ):
        _submit(harness, kind, tif)


# -- day and gtc: rest until the market reaches them, then fill at the market ---------------


def _reach_and_fill(h, kind: OrderType) -> D:
    """Move the market so the resting buy fills; return the fill price expected."""
    if kind is T.LIMIT:
        h.quote("AAPL", "98.80", "98.90")
        return D("98.90")
    if kind in (T.STOP, T.STOP_LIMIT):
        h.quote("AAPL", "101.10", "101.20")
        return D("101.20")
    # Trailing buy: the low water mark follows the ask down to 99.50 (stop 100.50), and the
    # ask coming back up through the stop triggers it.
    h.quote("AAPL", "99.40", "99.50")
    h.quote("AAPL", "100.50", "100.60")
    return D("100.60")


@pytest.mark.parametrize("tif", [TIF.DAY, TIF.GTC], ids=lambda v: v.value)
@pytest.mark.parametrize("kind", list(T), ids=lambda v: v.value)
def test_order_type_day_or_gtc_fills_when_market_reaches_it(
    harness, kind: OrderType, tif: TimeInForce, times
) -> None:
    harness.quote("AAPL", "100.00", "100.10")
    outcome = _submit(harness, kind, tif)
    order = harness.order(outcome)
    if kind is T.MARKET:
        assert order.status is S.FILLED
        assert order.avg_fill_price == D("100.10")
        assert harness.fills(order.order_id)[0].liquidity is Liquidity.TAKER
        return
    assert order.status is S.NEW
    assert order.expires_at == (times.close if tif is TIF.DAY else None)
    expected = _reach_and_fill(harness, kind)
    order = harness.order(outcome)
    assert order.status is S.FILLED
    assert order.filled_qty == D(10)
    assert order.avg_fill_price == expected
    fill = harness.fills(order.order_id)[0]
    assert fill.liquidity is (Liquidity.MAKER if kind is T.LIMIT else Liquidity.TAKER)
    if kind in (T.STOP, T.STOP_LIMIT, T.TRAILING_STOP):
        assert [e.order_id for e in harness.of_type(OrderTriggered)] == [order.order_id]
    harness.check_identity()


@pytest.mark.parametrize(
    "kind", [T.LIMIT, T.STOP, T.STOP_LIMIT, T.TRAILING_STOP], ids=lambda v: v.value
)
def test_order_type_day_resting_order_expires_at_session_close(harness, kind, times) -> None:
    harness.quote("AAPL", "100.00", "100.10")
    day = _submit(harness, kind, TIF.DAY).order_id
    gtc = _submit(harness, kind, TIF.GTC).order_id
    harness.advance(times.close - timedelta(seconds=1))
    assert harness.order(day).status is S.NEW
    harness.advance(times.close)
    assert harness.order(day).status is S.EXPIRED
    assert "session close" in (harness.order(day).reason or "")
    assert harness.order(gtc).status is S.NEW  # good till canceled


# -- ioc and fok: one look at the market on arrival ------------------------------------------


@pytest.mark.parametrize("tif", [TIF.IOC, TIF.FOK], ids=lambda v: v.value)
@pytest.mark.parametrize("kind", [T.MARKET, T.LIMIT, T.STOP, T.STOP_LIMIT], ids=lambda v: v.value)
def test_order_type_ioc_fok_unmarketable_is_canceled_at_once(harness, kind, tif) -> None:
    harness.quote("AAPL", "100.00", "100.10")
    order = harness.order(_submit(harness, kind, tif))
    if kind is T.MARKET:
        assert order.status is S.FILLED
        assert order.avg_fill_price == D("100.10")
        return
    assert order.status is S.CANCELED
    assert order.filled_qty == 0
    assert order.reason is not None and order.reason.startswith(tif.value)


@pytest.mark.parametrize("tif", [TIF.IOC, TIF.FOK], ids=lambda v: v.value)
@pytest.mark.parametrize(
    ("kind", "prices"),
    [
        (T.LIMIT, {"limit_price": D("100.20")}),
        (T.STOP, {"stop_price": D("100.05")}),
        (T.STOP_LIMIT, {"stop_price": D("100.05"), "limit_price": D("100.10")}),
    ],
    ids=lambda v: getattr(v, "value", ""),
)
def test_order_type_ioc_fok_marketable_fills_at_the_touch(harness, kind, prices, tif) -> None:
    harness.quote("AAPL", "100.00", "100.10")
    order = harness.order(
        harness.submit(side=BUY, qty=D(10), order_type=kind, time_in_force=tif, **prices)
    )
    assert order.status is S.FILLED
    assert order.avg_fill_price == D("100.10")


@pytest.mark.parametrize("tif", [TIF.IOC, TIF.FOK], ids=lambda v: v.value)
def test_order_type_ioc_fok_without_quote_gets_one_look_at_the_next_bar(harness, tif) -> None:
    harness.bar(
        "AAPL", "100.50", "100.80", "100.40", "100.60", start=harness.now - timedelta(minutes=1)
    )
    order_id = _submit(harness, T.LIMIT, tif, limit_price=D("100.00")).order_id
    assert harness.order(order_id).status is S.NEW
    harness.bar("AAPL", "100.50", "100.80", "100.40", "100.60")  # never reached 100.00
    order = harness.order(order_id)
    assert order.status is S.CANCELED
    assert order.filled_qty == 0


@pytest.mark.parametrize("tif", [TIF.IOC, TIF.FOK], ids=lambda v: v.value)
def test_order_type_ioc_fok_outside_session_is_rejected(harness, tif, times) -> None:
    harness.at(times.close + timedelta(hours=1))
    outcome = _submit(harness, T.MARKET, tif)
    assert outcome.rejected_reason is not None
    assert f"{tif.value} orders need an open market" in outcome.rejected_reason


# -- opg and cls: the auctions ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "limit", "status", "price"),
    [
        (T.MARKET, None, S.FILLED, D("100.30")),
        (T.LIMIT, D("100.50"), S.FILLED, D("100.30")),
        (T.LIMIT, D("100.00"), S.EXPIRED, None),
    ],
    ids=["market", "limit-through", "limit-not-reached"],
)
def test_order_type_opg_fills_at_the_open_or_expires(
    harness, kind, limit, status, price, times
) -> None:
    harness.at(times.open - timedelta(hours=3))
    harness.quote("AAPL", "99.90", "100.00", at=times.open - timedelta(hours=3))  # pre-market
    harness.at(times.open - timedelta(hours=2))
    extra = {"limit_price": limit} if limit is not None else {}
    outcome = harness.submit(side=BUY, qty=D(10), order_type=kind, time_in_force=TIF.OPG, **extra)
    order = harness.order(outcome)
    assert order.status is S.ACCEPTED  # queued for the opening auction
    harness.quote("AAPL", "100.00", "100.10", at=times.open - timedelta(minutes=5))  # pre-market
    assert harness.order(outcome).status is S.ACCEPTED
    harness.quote("AAPL", "100.20", "100.30", at=times.open + timedelta(seconds=1))
    order = harness.order(outcome)
    assert order.status is status
    assert order.avg_fill_price == price
    harness.quote("AAPL", "99.00", "99.10", at=times.open + timedelta(minutes=1))
    assert harness.order(outcome).status is status  # one chance only


def test_order_type_opg_during_session_is_rejected(harness) -> None:
    outcome = _submit(harness, T.MARKET, TIF.OPG)
    assert outcome.rejected_reason is not None
    assert "before the opening auction" in outcome.rejected_reason


def test_order_type_opg_with_bars_fills_at_first_session_bar_open(harness, times) -> None:
    harness.at(times.open - timedelta(hours=1))
    harness.bar("AAPL", "98.00", "98.50", "97.50", "98.20", start=times.open - timedelta(hours=1))
    order_id = _submit(harness, T.MARKET, TIF.OPG).order_id
    harness.bar("AAPL", "99.00", "99.50", "98.50", "99.20", start=times.open - timedelta(minutes=1))
    assert harness.order(order_id).status is S.ACCEPTED
    harness.bar("AAPL", "100.00", "101.00", "99.80", "100.50", start=times.open)
    order = harness.order(order_id)
    assert order.status is S.FILLED
    assert order.avg_fill_price == D("100.00")


@pytest.mark.parametrize(
    ("kind", "limit", "status", "price"),
    [
        (T.MARKET, None, S.FILLED, D("100.10")),
        (T.LIMIT, D("100.20"), S.FILLED, D("100.10")),
        (T.LIMIT, D("100.00"), S.EXPIRED, None),
    ],
    ids=["market", "limit-through", "limit-not-reached"],
)
def test_order_type_cls_fills_at_the_close_from_last_quote(
    harness, kind, limit, status, price, times
) -> None:
    harness.quote("AAPL", "100.00", "100.10")
    extra = {"limit_price": limit} if limit is not None else {}
    outcome = harness.submit(side=BUY, qty=D(10), order_type=kind, time_in_force=TIF.CLS, **extra)
    harness.quote("AAPL", "95.00", "95.10")  # during the session a cls order never fills
    assert harness.order(outcome).status is S.NEW
    harness.quote("AAPL", "100.00", "100.10", at=times.close - timedelta(seconds=10))
    harness.advance(times.close)
    order = harness.order(outcome)
    assert order.status is status
    assert order.avg_fill_price == price


def test_order_type_cls_with_bars_fills_at_the_closing_bar_close(harness, times) -> None:
    harness.bar(
        "AAPL", "100.00", "100.50", "99.50", "100.20", start=harness.now - timedelta(minutes=1)
    )
    order_id = _submit(harness, T.MARKET, TIF.CLS).order_id
    harness.bar(
        "AAPL", "100.00", "100.50", "99.50", "100.20", start=times.close - timedelta(minutes=2)
    )
    assert harness.order(order_id).status is S.NEW
    harness.bar(
        "AAPL", "100.20", "100.90", "100.10", "100.70", start=times.close - timedelta(minutes=1)
    )
    order = harness.order(order_id)
    assert order.status is S.FILLED
    assert order.avg_fill_price == D("100.70")


# -- crypto: 24/7, no sessions ----------------------------------------------------------------


@pytest.mark.parametrize("tif", [TIF.DAY, TIF.OPG, TIF.CLS], ids=lambda v: v.value)
def test_order_type_crypto_session_time_in_force_is_rejected(harness, tif) -> None:
    outcome = harness.submit(symbol="BTC/USD", side=BUY, qty=D("0.5"), time_in_force=tif)
    assert outcome.rejected_reason is not None
    assert "trades around the clock" in outcome.rejected_reason


@pytest.mark.parametrize("tif", [TIF.GTC, TIF.IOC, TIF.FOK], ids=lambda v: v.value)
def test_order_type_crypto_fills_on_a_sunday(harness, tif, times) -> None:
    sunday = times.open + timedelta(days=6)
    harness.at(sunday)
    harness.quote("BTC/USD", "60000.00", "60010.00", at=sunday)
    order = harness.order(
        harness.submit(symbol="BTC/USD", side=BUY, qty=D("0.123456789"), time_in_force=tif)
    )
    assert order.status is S.FILLED
    assert order.avg_fill_price == D("60010.00")
    assert harness.position_qty("BTC/USD") == D("0.123456789")
    harness.check_identity()


@pytest.mark.parametrize("tif", [TIF.IOC, TIF.FOK], ids=lambda v: v.value)
def test_order_type_ioc_fok_that_never_saw_the_market_expires_at_the_close(
    harness, tif, times
) -> None:
    harness.bar("AAPL", "100", "100", "100", "100", start=harness.now - timedelta(minutes=1))
    order_id = _submit(harness, T.LIMIT, tif, limit_price=D("100.00")).order_id
    harness.advance(times.close)
    order = harness.order(order_id)
    assert order.status is S.EXPIRED
    assert (
        order.reason == f"{tif.value} order expired at the session close {times.close.isoformat()}"
    )
