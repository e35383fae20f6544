"""Exchange sessions: New York 09:30-16:00 in UTC across daylight saving."""

from __future__ import annotations

from datetime import UTC, date, datetime

from market_data.domain.sessions import session_fraction, us_equity_session, utc_day


def test_us_equity_session_summer_is_1330_to_2000_utc() -> None:
    opens, closes = us_equity_session(date(2024, 7, 1))
    assert opens == datetime(2024, 7, 1, 13, 30, tzinfo=UTC)
    assert closes == datetime(2024, 7, 1, 20, 0, tzinfo=UTC)


def test_us_equity_session_winter_is_1430_to_2100_utc() -> None:
    opens, closes = us_equity_session(date(2024, 1, 2))
    assert opens == datetime(2024, 1, 2, 14, 30, tzinfo=UTC)
    assert closes == datetime(2024, 1, 2, 21, 0, tzinfo=UTC)


def test_us_equity_session_dst_switch_day_uses_new_offset() -> None:
    # DST began 2024-03-10 (a Sunday); the Monday after opens at 13:30 UTC.
    opens, _ = us_equity_session(date(2024, 3, 11))
    assert opens == datetime(2024, 3, 11, 13, 30, tzinfo=UTC)
    opens_before, _ = us_equity_session(date(2024, 3, 8))
    assert opens_before == datetime(2024, 3, 8, 14, 30, tzinfo=UTC)


def test_utc_day_spans_24_hours() -> None:
    opens, closes = utc_day(date(2024, 1, 2))
    assert (closes - opens).total_seconds() == 86400


def test_session_fraction_open_midday_close_and_outside() -> None:
    assert session_fraction(datetime(2024, 1, 2, 14, 30, tzinfo=UTC)) == 0
    assert session_fraction(datetime(2024, 1, 2, 17, 45, tzinfo=UTC)) == 0.5
    assert session_fraction(datetime(2024, 1, 2, 21, 0, tzinfo=UTC)) is None
    assert session_fraction(datetime(2024, 1, 6, 16, 0, tzinfo=UTC)) is None  # Saturday
