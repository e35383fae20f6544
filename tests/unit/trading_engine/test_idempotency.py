"""A repeated client order id returns the existing order; a redelivered market event or fill
changes nothing."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

from trader_common.contracts.trade import OrderSide, OrderStatus
from trading_engine.domain.events import OrderFillEvent

D = Decimal

BUY = OrderSide.BUY


def test_idempotent_repeated_client_order_id_returns_the_existing_order(harness) -> None:
    harness.quote("AAPL", "100.00", "100.10")
    first = harness.buy("10", client_order_id="abc")
    again = harness.buy("99", client_order_id="abc")
    assert again.duplicate and again.order_id == first.order_id
    assert again.events == []
    assert harness.position_qty() == D(10)
    assert len(harness.engine.orders()) == 1


def test_idempotent_repeated_client_order_id_of_a_rejected_order_returns_it(harness) -> None:
    first = harness.submit(symbol="NOPE", qty=D(1), client_order_id="r")
    again = harness.submit(symbol="NOPE", qty=D(1), client_order_id="r")
    assert again.duplicate and again.order_id == first.order_id
    assert again.rejected_reason == first.rejected_reason


def test_idempotent_redelivered_quote_changes_nothing(harness) -> None:
    harness.quote("AAPL", "100.00", "100.10")
    order_id = harness.limit(BUY, "10", "99.00").order_id
    event_id = uuid4()
    at = harness.later(seconds=5)
    first = harness.quote("AAPL", "98.90", "99.00", at=at, event_id=event_id)
    assert first
    version = harness.engine.version
    again = harness.quote("AAPL", "98.90", "99.00", at=at, event_id=event_id)
    assert again == [] and harness.engine.version == version
    assert harness.order(order_id).filled_qty == D(10)


def test_idempotent_older_quote_does_not_move_the_market_back(harness) -> None:
    at = harness.later(seconds=5)
    harness.quote("AAPL", "100.00", "100.10", at=at)
    stale = harness.quote("AAPL", "90.00", "90.10", at=at.replace(second=at.second - 1))
    assert stale == []
    assert harness.engine.state.last_quote["AAPL"].bid == D("100.00")


def test_idempotent_two_different_quotes_with_the_same_time_both_count(harness) -> None:
    at = harness.later(seconds=5)
    harness.quote("AAPL", "100.00", "100.10", at=at)
    second = harness.quote("AAPL", "100.20", "100.30", at=at)
    assert second and harness.engine.state.last_quote["AAPL"].bid == D("100.20")


def test_idempotent_redelivered_bar_changes_nothing(harness) -> None:
    from datetime import timedelta

    harness.bar("AAPL", "100", "100", "100", "100", start=harness.now - timedelta(minutes=1))
    order_id = harness.buy("10").order_id
    event_id = uuid4()
    start = harness.now
    harness.bar("AAPL", "100.50", "101", "100", "100.80", start=start, event_id=event_id)
    version = harness.engine.version
    again = harness.bar("AAPL", "100.50", "101", "100", "100.80", start=start, event_id=event_id)
    assert again == [] and harness.engine.version == version
    assert harness.order(order_id).filled_qty == D(10)
    assert harness.position_qty() == D(10)


def test_idempotent_redelivered_fill_event_changes_nothing(harness) -> None:
    harness.quote("AAPL", "100.00", "100.10")
    harness.buy("10")
    fill = next(e for e in harness.events if isinstance(e, OrderFillEvent))
    state = harness.engine.state
    before = state.snapshot()
    state.apply(fill)
    assert state.require_account() == before.require_account()
    assert state.orders == before.orders
    assert state.version == before.version + 1  # the event was read, and ignored


def test_idempotent_bars_of_another_timeframe_are_ignored(harness) -> None:
    from datetime import timedelta

    harness.bar("AAPL", "100", "100", "100", "100", start=harness.now - timedelta(minutes=1))
    order_id = harness.buy("10").order_id
    harness.bar("AAPL", "99", "99", "99", "99", minutes=5, timeframe="5Min")
    assert harness.order(order_id).status is OrderStatus.NEW


def test_idempotent_repeated_client_order_id_of_a_canceled_order_is_not_a_rejection(
    harness,
) -> None:
    harness.quote("AAPL", "100.00", "100.10")
    first = harness.limit(BUY, "10", "90.00", client_order_id="c")
    harness.cancel(first.order_id)
    again = harness.limit(BUY, "10", "90.00", client_order_id="c")
    assert again.duplicate and again.order_id == first.order_id
    assert again.rejected_reason is None
