"""Sessions come from the caller: the domain gets open/close times, the adapter reads
exchange-calendars."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from trader_common.contracts.trade import OrderSide, OrderStatus, TimeInForce
from trading_engine.adapters.calendar import ExchangeCalendarSessions, UnknownCalendarError
from trading_engine.domain.errors import ConfigurationError
from trading_engine.domain.sessions import ALWAYS_OPEN_SESSION, Session

D = Decimal

S = OrderStatus


def test_session_is_open_is_half_open_interval() -> None:
    open_ = datetime(2024, 3, 4, 14, 30, tzinfo=UTC)
    session = Session(open_, open_ + timedelta(hours=6, minutes=30))
    assert not session.is_open(open_ - timedelta(microseconds=1))
    assert session.is_open(open_)
    assert not session.is_open(session.close)
    assert ALWAYS_OPEN_SESSION.is_open(open_) and ALWAYS_OPEN_SESSION.around_the_clock


def test_session_must_be_aware_and_ordered() -> None:
    with pytest.raises(ConfigurationError, match="timezone-aware"):
        Session(datetime(2024, 1, 1), datetime(2024, 1, 2))  # noqa: DTZ001
    with pytest.raises(ConfigurationError, match="at or after it closes"):
        Session(datetime(2024, 1, 2, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC))


def test_day_order_submitted_after_close_is_queued_and_expires_next_close(harness, times) -> None:
    harness.quote("AAPL", "100.00", "100.10", at=times.close - timedelta(minutes=1))
    harness.at(times.close + timedelta(hours=2))
    order_id = harness.buy("10").order_id
    order = harness.order(order_id)
    assert order.status is S.ACCEPTED
    assert order.expires_at == times.close + timedelta(days=1)
    harness.quote("AAPL", "100.00", "100.10", at=times.close + timedelta(hours=3))  # after hours
    assert harness.order(order_id).status is S.ACCEPTED
    harness.quote("AAPL", "101.00", "101.10", at=times.open + timedelta(days=1, seconds=1))
    order = harness.order(order_id)
    assert order.status is S.FILLED and order.avg_fill_price == D("101.10")


def test_day_order_expires_on_the_first_event_after_the_close(harness, times) -> None:
    harness.quote("AAPL", "100.00", "100.10")
    order_id = harness.limit(OrderSide.BUY, "10", "90.00").order_id
    harness.quote("AAPL", "80.00", "80.10", at=times.close + timedelta(minutes=1))
    order = harness.order(order_id)
    assert order.status is S.EXPIRED  # expired at the close, before the after-hours quote
    assert order.filled_qty == 0


def test_exchange_calendar_adapter_regular_session() -> None:
    sessions = ExchangeCalendarSessions()
    ts = datetime(2024, 3, 4, 15, 0, tzinfo=UTC)
    assert sessions.session_at_or_after("XNYS", ts) == Session(
        datetime(2024, 3, 4, 14, 30, tzinfo=UTC), datetime(2024, 3, 4, 21, 0, tzinfo=UTC)
    )


def test_exchange_calendar_adapter_weekend_gives_monday_and_dst_moves_the_hours() -> None:
    sessions = ExchangeCalendarSessions()
    saturday = datetime(2024, 3, 9, 12, 0, tzinfo=UTC)
    monday = sessions.session_at_or_after("XNYS", saturday)
    assert monday.open == datetime(2024, 3, 11, 13, 30, tzinfo=UTC)  # US daylight time began


def test_exchange_calendar_adapter_early_close_and_after_close() -> None:
    sessions = ExchangeCalendarSessions()
    black_friday = sessions.session_at_or_after("XNYS", datetime(2024, 11, 29, 17, tzinfo=UTC))
    assert black_friday.close == datetime(2024, 11, 29, 18, 0, tzinfo=UTC)
    after = sessions.session_at_or_after("XNYS", datetime(2024, 11, 29, 18, 0, tzinfo=UTC))
    assert after.open == datetime(2024, 12, 2, 14, 30, tzinfo=UTC)


def test_exchange_calendar_adapter_crypto_and_unknown_names() -> None:
    sessions = ExchangeCalendarSessions()
    assert sessions.session_at_or_after("24/7", datetime(2024, 1, 1, tzinfo=UTC)).around_the_clock
    with pytest.raises(UnknownCalendarError, match="no exchange calendar named 'NOPE'"):
        sessions.session_at_or_after("NOPE", datetime(2024, 1, 1, tzinfo=UTC))


def test_engine_asks_the_calendar_once_per_session(harness) -> None:
    harness.quote("AAPL", "100.00", "100.10")
    asked = len(harness.calendar.asked)
    for _ in range(20):
        harness.buy("1", time_in_force=TimeInForce.DAY)
    assert len(harness.calendar.asked) == asked
