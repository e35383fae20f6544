from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from trader_common.cloudevents import from_cloud_event, to_cloud_event
from trader_common.contracts import BarClosed, EventDecodeError, QuoteUpdated, decode_event

NOW = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)


def quote(**overrides: object) -> QuoteUpdated:
    fields: dict[str, object] = {
        "symbol": "AAPL",
        "source": "test",
        "ts_event": NOW,
        "bid": Decimal("10.00"),
        "ask": Decimal("10.02"),
        "bid_size": 5,
        "ask_size": 7,
    }
    fields.update(overrides)
    return QuoteUpdated.model_validate(fields)


def test_cloud_event_round_trip_preserves_event_exactly() -> None:
    event = quote()
    envelope = to_cloud_event(event, "/market-data")
    assert envelope["specversion"] == "1.0"
    assert envelope["type"] == "ai.active-trader.market.quote.v1"
    assert envelope["id"] == str(event.event_id)
    assert envelope["partitionkey"] == "AAPL"
    assert from_cloud_event(envelope) == event


def test_cloud_event_money_travels_as_decimal_strings() -> None:
    envelope = to_cloud_event(quote(bid=Decimal("0.10"), ask=Decimal("0.30")), "/x")
    assert envelope["data"]["bid"] == "0.10"
    assert from_cloud_event(envelope).bid + from_cloud_event(envelope).ask == Decimal("0.40")


def test_event_timestamps_non_utc_offset_is_normalised_to_utc() -> None:
    event = quote(ts_event=datetime(2026, 1, 2, 10, 0, tzinfo=timezone(timedelta(hours=-5))))
    assert event.ts_event == datetime(2026, 1, 2, 15, 0, tzinfo=UTC)
    assert event.ts_event.utcoffset() == timedelta(0)


def test_event_naive_timestamp_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone"):
        quote(ts_event=datetime(2026, 1, 2, 10, 0))  # noqa: DTZ001 - the point of the test


def test_event_is_immutable() -> None:
    event = quote()
    with pytest.raises(ValueError, match="frozen"):
        event.bid = Decimal(1)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("envelope", "reason"),
    [
        ([1, 2], "not a CloudEvent object"),
        ({"id": "1", "type": "x"}, "missing required attributes: specversion, source"),
        ({"specversion": "0.3", "id": "1", "type": "x", "source": "s", "data": {}}, "specversion"),
        ({"specversion": "1.0", "id": "1", "type": "x", "source": "s"}, "has no data"),
        (
            {"specversion": "1.0", "id": "1", "type": "nope.v1", "source": "s", "data": {}},
            "unknown event type 'nope.v1'",
        ),
    ],
)
def test_cloud_event_malformed_envelope_is_rejected_with_reason(
    envelope: object, reason: str
) -> None:
    with pytest.raises(EventDecodeError, match=reason):
        from_cloud_event(envelope)


def test_decode_event_schema_violation_names_the_field() -> None:
    data = quote().payload()
    del data["bid"]
    with pytest.raises(EventDecodeError, match=r"schema violation: bid: Field required"):
        decode_event(QuoteUpdated.cloud_event_type(), data)


def test_decode_event_unknown_field_is_rejected() -> None:
    data = {**quote().payload(), "surprise": 1}
    with pytest.raises(EventDecodeError, match="surprise"):
        decode_event(QuoteUpdated.cloud_event_type(), data)


def test_decode_event_data_as_json_text_is_accepted_and_garbage_is_not() -> None:
    import json

    text = json.dumps(quote().payload())
    assert decode_event(QuoteUpdated.cloud_event_type(), text).symbol == "AAPL"
    with pytest.raises(EventDecodeError, match="not JSON"):
        decode_event(QuoteUpdated.cloud_event_type(), "{oops")
    with pytest.raises(EventDecodeError, match="must be a JSON object"):
        decode_event(QuoteUpdated.cloud_event_type(), [1])


def test_quote_crossed_bid_above_ask_is_rejected() -> None:
    with pytest.raises(ValueError, match="crossed quote: bid 11 is above ask 10"):
        quote(bid=Decimal(11), ask=Decimal(10))


def test_bar_high_below_close_is_rejected() -> None:
    with pytest.raises(ValueError, match="inconsistent bar"):
        BarClosed(
            symbol="AAPL",
            source="t",
            ts_event=NOW,
            ts_open=NOW - timedelta(days=1),
            timeframe="1Day",
            open=Decimal(10),
            high=Decimal(10),
            low=Decimal(9),
            close=Decimal(11),
            volume=Decimal(100),
        )


def test_bar_opening_after_close_is_rejected() -> None:
    with pytest.raises(ValueError, match="opens"):
        BarClosed(
            symbol="AAPL",
            source="t",
            ts_event=NOW,
            ts_open=NOW,
            timeframe="1Day",
            open=Decimal(10),
            high=Decimal(11),
            low=Decimal(9),
            close=Decimal(10),
            volume=Decimal(100),
        )


def test_partition_key_is_symbol_for_market_events() -> None:
    assert quote(symbol="MSFT").partition_key() == "MSFT"


def test_key_rounds_keeps_per_key_order_and_one_event_per_key_per_round() -> None:
    from trader_common.adapters.dapr import key_rounds

    events = [
        quote(symbol=s, bid=Decimal(i), ask=Decimal(i + 1))
        for i, s in enumerate(["A", "B", "A", "C", "A", "B"], start=1)
    ]
    rounds = key_rounds(events)
    assert [[e.symbol for e in r] for r in rounds] == [["A", "B", "C"], ["A", "B"], ["A"]]
    for r in rounds:
        assert len({e.symbol for e in r}) == len(r)
    by_symbol = [e.bid for r in rounds for e in r if e.symbol == "A"]
    assert by_symbol == [Decimal(1), Decimal(3), Decimal(5)]
