"""Normalisation helpers: Decimal prices, UTC times, contract checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from market_data.domain.normalise import (
    MalformedPayloadError,
    collect,
    from_epoch,
    make_bar,
    make_last_price_quote,
    make_quote,
    to_decimal,
    to_utc,
)


def test_to_decimal_float_uses_shortest_repr_not_binary_expansion() -> None:
    assert to_decimal(187.3, "p") == Decimal("187.3")
    assert str(to_decimal(0.1, "p")) == "0.1"


def test_to_decimal_numeric_string_and_int_are_exact() -> None:
    assert to_decimal("1.07219", "p") == Decimal("1.07219")
    assert to_decimal(22351900, "v") == Decimal(22351900)


@pytest.mark.parametrize("bad", [True, None, "abc", float("nan"), float("inf"), "NaN", [1], {}])
def test_to_decimal_non_numbers_are_rejected_with_field_name(bad: object) -> None:
    with pytest.raises(MalformedPayloadError, match="price"):
        to_decimal(bad, "price")


def test_to_utc_nanosecond_rfc3339_is_parsed_to_utc() -> None:
    parsed = to_utc("2024-01-02T15:04:05.123456789Z", "t")
    assert parsed == datetime(2024, 1, 2, 15, 4, 5, 123456, tzinfo=UTC)


def test_to_utc_offset_is_converted_to_utc() -> None:
    parsed = to_utc("2024-01-02T10:00:00-05:00", "t")
    assert parsed == datetime(2024, 1, 2, 15, 0, tzinfo=UTC)
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize("bad", ["2024-01-02T15:04:05", "yesterday", 12, None])
def test_to_utc_naive_or_garbage_is_rejected(bad: object) -> None:
    with pytest.raises(MalformedPayloadError, match="t is"):
        to_utc(bad, "t")


def test_from_epoch_seconds_and_milliseconds_agree() -> None:
    assert from_epoch(1704207600, "t") == from_epoch(1704207600000, "t", unit="ms")
    assert from_epoch(1704207600, "t") == datetime(2024, 1, 2, 15, 0, tzinfo=UTC)


def test_from_epoch_out_of_range_is_rejected() -> None:
    with pytest.raises(MalformedPayloadError, match="outside"):
        from_epoch(0, "t")
    with pytest.raises(MalformedPayloadError):
        from_epoch(10**20, "t")


def test_make_quote_crossed_is_rejected_with_reason() -> None:
    with pytest.raises(MalformedPayloadError, match="crossed"):
        make_quote(
            symbol="AAPL",
            source="x",
            ts=datetime(2024, 1, 2, tzinfo=UTC),
            bid=Decimal(2),
            ask=Decimal(1),
            bid_size=Decimal(1),
            ask_size=Decimal(1),
        )


def test_make_quote_invalid_symbol_is_rejected() -> None:
    with pytest.raises(MalformedPayloadError, match="symbol"):
        make_last_price_quote(
            symbol="aapl", source="x", ts=datetime(2024, 1, 2, tzinfo=UTC), price=Decimal(1)
        )


def test_make_last_price_quote_is_zero_width_with_zero_sizes() -> None:
    quote = make_last_price_quote(
        symbol="AAPL", source="finnhub", ts=datetime(2024, 1, 2, tzinfo=UTC), price=Decimal("5")
    )
    assert (quote.bid, quote.ask, quote.bid_size, quote.ask_size) == (5, 5, 0, 0)


def test_make_bar_default_close_is_one_timeframe_later_and_times_are_utc() -> None:
    opens = datetime(2024, 1, 2, 10, 0, tzinfo=timezone(timedelta(hours=-5)))
    bar = make_bar(
        symbol="AAPL",
        source="x",
        timeframe="5Min",
        ts_open=opens,
        open_=Decimal(1),
        high=Decimal(2),
        low=Decimal("0.5"),
        close=Decimal("1.5"),
        volume=Decimal(10),
    )
    assert bar.ts_open == datetime(2024, 1, 2, 15, 0, tzinfo=UTC)
    assert bar.ts_event == datetime(2024, 1, 2, 15, 5, tzinfo=UTC)


def test_make_bar_inconsistent_range_is_rejected() -> None:
    with pytest.raises(MalformedPayloadError, match="inconsistent bar"):
        make_bar(
            symbol="AAPL",
            source="x",
            timeframe="1Min",
            ts_open=datetime(2024, 1, 2, tzinfo=UTC),
            open_=Decimal(3),
            high=Decimal(2),
            low=Decimal(1),
            close=Decimal(2),
            volume=Decimal(0),
        )


def test_collect_rejects_bad_records_and_keeps_good_ones() -> None:
    good, rejected = collect("p", ["1", "x", "2", None], lambda r: to_decimal(r, "v"))
    assert good == [Decimal(1), Decimal(2)]
    assert [r.provider for r in rejected] == ["p", "p"]
    assert "not a number" in rejected[0].reason
