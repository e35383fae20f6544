"""Replay: rows to bars, pacing at 0/1/N x, derived quotes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from market_data.domain.normalise import MalformedPayloadError, make_bar
from market_data.domain.replay import ReplayRow, bar_from_row, check_series, derive_quote, schedule
from trader_common.contracts import BarClosed, QuoteUpdated


def row(ts_open: object, ts_close: object = None, **kw: object) -> ReplayRow:
    values = {"open": "10", "high": "11", "low": "9", "close": "10.5", "volume": "100"} | kw
    return ReplayRow(
        where="f.csv row 2",
        symbol="GOOG",
        ts_open=ts_open,
        ts_close=ts_close,
        open=values["open"],
        high=values["high"],
        low=values["low"],
        close=values["close"],
        volume=values["volume"],
    )


def daily(day: int, close: str = "10") -> BarClosed:
    return make_bar(
        symbol="GOOG",
        source="replay",
        timeframe="1Day",
        ts_open=datetime(2024, 1, day, 14, 30, tzinfo=UTC),
        ts_close=datetime(2024, 1, day, 21, 0, tzinfo=UTC),
        open_=Decimal(10),
        high=max(Decimal(11), Decimal(close)),
        low=min(Decimal(9), Decimal(close)),
        close=Decimal(close),
        volume=Decimal(1),
    )


def test_bar_from_row_date_only_daily_takes_the_new_york_session() -> None:
    bar = bar_from_row(row("2024-07-01"), timeframe="1Day", calendar="us-equity")
    assert bar.ts_open == datetime(2024, 7, 1, 13, 30, tzinfo=UTC)
    assert bar.ts_event == datetime(2024, 7, 1, 20, 0, tzinfo=UTC)
    assert bar.close == Decimal("10.5")


def test_bar_from_row_date_only_daily_utc_calendar_spans_the_utc_day() -> None:
    bar = bar_from_row(row(date(2024, 7, 1)), timeframe="1Day", calendar="utc-day")
    assert bar.ts_event - bar.ts_open == timedelta(days=1)


def test_bar_from_row_explicit_times_are_kept() -> None:
    bar = bar_from_row(
        row("2017-04-19T09:00:00Z", "2017-04-19T10:00:00Z"), timeframe="1Hour", calendar="utc-day"
    )
    assert bar.ts_open == datetime(2017, 4, 19, 9, tzinfo=UTC)


def test_bar_from_row_bad_value_names_the_row_and_field() -> None:
    with pytest.raises(MalformedPayloadError, match=r"f\.csv row 2: high"):
        bar_from_row(row("2024-07-01", high="n/a"), timeframe="1Day", calendar="us-equity")


def test_check_series_duplicate_open_is_refused() -> None:
    with pytest.raises(MalformedPayloadError, match="two 1Day bars"):
        check_series([daily(2), daily(2)], "f.csv")


def test_schedule_real_time_waits_as_long_as_the_market_did() -> None:
    steps = list(schedule([daily(2), daily(3), daily(5)], speed=1))
    assert [s.delay_seconds for s in steps] == [0, 86400, 2 * 86400]


def test_schedule_n_times_speed_divides_the_waits() -> None:
    steps = list(schedule([daily(2), daily(3)], speed=86400))
    assert [s.delay_seconds for s in steps] == [0, 1]


def test_schedule_full_speed_merges_into_batches_without_waiting() -> None:
    bars = [daily(d) for d in range(2, 12)]
    steps = list(schedule(bars, speed=0, max_batch=4))
    assert all(s.delay_seconds == 0 for s in steps)
    assert [len(s.events) for s in steps] == [4, 4, 2]
    assert [e for s in steps for e in s.events] == bars


def test_schedule_with_quotes_follows_each_bar_with_a_quote_at_its_close() -> None:
    steps = list(schedule([daily(2)], speed=0, quote_spread_bps=Decimal(10)))
    bar, quote = steps[0].events
    assert isinstance(quote, QuoteUpdated)
    assert quote.ts_event == bar.ts_event


def test_schedule_negative_speed_is_refused() -> None:
    with pytest.raises(ValueError, match="speed"):
        list(schedule([daily(2)], speed=-1))


def test_derive_quote_uses_the_close_price_grid() -> None:
    quote = derive_quote(daily(2, close="100.34"), Decimal(5))
    assert (quote.bid, quote.ask) == (Decimal("100.31"), Decimal("100.37"))
    fx = make_bar(
        symbol="EUR/USD",
        source="replay",
        timeframe="1Hour",
        ts_open=datetime(2017, 4, 19, 9, tzinfo=UTC),
        open_=Decimal("1.07"),
        high=Decimal("1.08"),
        low=Decimal("1.06"),
        close=Decimal("1.07219"),
        volume=Decimal(1),
    )
    fx_quote = derive_quote(fx, Decimal(5))
    assert fx_quote.bid < Decimal("1.07219") < fx_quote.ask
    assert fx_quote.ask.as_tuple().exponent == -5


def test_bar_from_row_closing_after_year_9999_is_malformed_naming_the_row() -> None:
    with pytest.raises(MalformedPayloadError, match=r"f\.csv row 2: .*outside the years 1-9999"):
        bar_from_row(row("9999-12-31T23:59:00Z"), timeframe="1Day", calendar="us-equity")
