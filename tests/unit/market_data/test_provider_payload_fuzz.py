"""Fuzzing market-data's parsing of provider payloads (hypothesis; no servers, no network).

Every pure entry point that turns Alpaca, Finnhub or CoinGecko data into events or domain values
(REST records, Alpaca's websocket messages as alpaca-py hands them over, Finnhub's candle
columns, CoinGecko's OHLC rows) gets arbitrary JSON and *near-valid* payloads: a documented
payload (the shapes of tests/fakes) with fields deleted, retyped, nulled, set to NaN/Infinity,
huge, tiny or negative numbers, exponent strings ("1e999999999"), times outside the calendar or
the epoch (seconds, milliseconds, msgpack timestamps in nanoseconds), lone surrogates, and extra
fields. The rule (docs/market-data.md, "Normalisation"): the result is well formed (aware UTC
times, finite positive Decimal prices in a usable range, bid <= ask, consistent bars, text that
encodes as UTF-8) or the record is refused with ``MalformedPayloadError`` saying why; never any
other exception. And where a response or stream frame holds several records, a bad one costs only
itself: the good ones are still returned (or queued, for the stream).
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from random import Random
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from market_data.adapters import alpaca, coingecko, finnhub
from market_data.domain.models import AssetInfo, NewsItem
from market_data.domain.normalise import (
    LARGEST_NUMBER,
    SMALLEST_NUMBER,
    MalformedPayloadError,
    collect,
    from_epoch,
    to_decimal,
    to_utc,
)
from market_data.domain.timeframes import TIMEFRAMES, Timeframe
from market_data.service.rejections import RejectionLog
from tests.fakes import alpaca_data, coingecko_api, finnhub_api
from tests.support.fuzz import NASTY_NUMBER_VALUES, NASTY_NUMBERS, NASTY_TIMES, json_values
from tests.support.fuzz import near_valid as shared_near_valid
from trader_common.contracts import BarClosed, Event, QuoteUpdated, TradePrinted

PAYLOADS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
BATCHES = settings(PAYLOADS, max_examples=40)

# --- awkward provider values, beyond the shared ones ------------------------------------------

EXPONENTS = (
    "1e999999999",
    "-1e999999999",
    "1e-999999999",
    "9e999999",
    "1e9999999999999999999",
    "0e999999999",
    "1E+24",
    "1E-25",
    "-0",
    "1" * 400,
)
PROVIDER_NUMBERS: tuple[Any, ...] = (
    10**24,
    10**30,
    -(2**63),
    2**64,
    1e308,
    5e-324,
    -1.5,
    0,
    0.0,
    Decimal("NaN"),
    Decimal("sNaN"),
    b"187.3",
    [187.3],
    {"$numberDecimal": "187.3"},
)
PROVIDER_TIMES = (
    "9999-12-31T23:59:00Z",
    "9999-12-31T00:00:00Z",
    "0001-01-01T00:00:00Z",
    "0001-01-01T04:00:00Z",
    "2024-01-02T15:04:05.123456789Z",
    "2024-01-02T15:04:05.1234567891234Z",
    "2024-01-02T15:04:05+14:00",
    "2024-01-02T15:04:05-23:59",
    "1969-12-31T23:59:59Z",
    "2200-01-01T00:00:00Z",
    "2024-01-02 15:04:05Z",
    "2024-W01-2T15:04:05Z",
)
EPOCHS: tuple[Any, ...] = (
    0,
    -1,
    86_400,
    1_704_207_600,
    1_704_207_600_000,
    1_704_207_600_000_000,
    1_704_207_600_000_000_000,
    10**13,
    10**16,
    10**19,
    2**63,
    -(2**63),
    "1704207600",
    1_704_207_600.5,
    1e20,
    -1e20,
    "1e999999999",
    "1e-999999999",
    float("nan"),
    float("inf"),
)
TEXT = ("\ud800", "\udfff", "a\ud83d", "\x00", "", " ", "💥", "A" * 2_000, "ＡＡＰＬ")


def _junk() -> st.SearchStrategy[Any]:
    return st.one_of(
        json_values(),
        st.sampled_from(EXPONENTS),
        st.sampled_from(PROVIDER_NUMBERS),
        st.sampled_from(NASTY_NUMBERS),
        st.sampled_from(NASTY_NUMBER_VALUES),
        st.sampled_from(PROVIDER_TIMES),
        st.sampled_from(NASTY_TIMES),
        st.sampled_from(EPOCHS),
        st.sampled_from(TEXT),
        st.integers(-(2**70), 2**70),
        st.floats(),
        st.decimals(),
    )


JUNK = _junk()


@st.composite
def field_mutations(draw: st.DrawFn, valid: dict[str, Any], junk: st.SearchStrategy[Any]) -> Any:
    """``valid`` with one to three of its own fields deleted, nulled or set to junk, and
    sometimes an extra field."""
    value = dict(valid)
    keys = draw(st.lists(st.sampled_from(sorted(valid)), min_size=1, max_size=3, unique=True))
    for key in keys:
        action = draw(st.sampled_from(("delete", "null", "junk", "junk", "junk")))
        if action == "delete":
            del value[key]
        elif action == "null":
            value[key] = None
        else:
            value[key] = draw(junk)
    if draw(st.booleans()):
        value[draw(st.text(max_size=6))] = draw(json_values())
    return value


@st.composite
def one_field(draw: st.DrawFn, valid: dict[str, Any], junk: st.SearchStrategy[Any]) -> Any:
    """``valid`` with exactly one field set to junk: the likeliest way to reach the code that
    reads that field with every other check passed."""
    key = draw(st.sampled_from(sorted(valid)))
    return {**valid, key: draw(junk)}


def payloads(valid: Any, junk: st.SearchStrategy[Any] = JUNK) -> st.SearchStrategy[Any]:
    """The documented payload itself, near-valid variants of it, or any JSON junk."""
    variants: list[st.SearchStrategy[Any]] = [
        st.just(valid),
        shared_near_valid(valid),
        shared_near_valid(valid),
        json_values(),
    ]
    if isinstance(valid, dict):
        variants += [field_mutations(valid, junk), field_mutations(valid, junk)]
        variants += [one_field(valid, junk), one_field(valid, junk)]
    return st.one_of(*variants)


def msgpack_times() -> st.SearchStrategy[Any]:
    """``t`` of an Alpaca stream message: a msgpack timestamp with any int64 seconds (as
    timestamp 96 allows), or junk."""
    seconds = st.one_of(
        st.integers(-(2**63), 2**63 - 1),
        st.integers(-62_135_596_800 - 10, -62_135_596_800 + 10),  # about 0001-01-01
        st.integers(253_402_300_799 - 10, 253_402_300_799 + 10),  # about 9999-12-31 23:59:59
        st.integers(1_700_000_000, 1_800_000_000),
    )
    stamps = st.builds(msgpack.Timestamp, seconds, st.integers(0, 10**9 - 1))
    return st.one_of(stamps, stamps, JUNK, st.binary(max_size=12))


# --- checks -----------------------------------------------------------------------------------


def parsed(call: Callable[[], Any]) -> Any:
    """``call()``'s result, or ``None`` when it refused the payload with a reason. Any other
    exception fails the test."""
    try:
        return call()
    except MalformedPayloadError as exc:
        reason = str(exc)
    assert reason.strip(), "MalformedPayloadError without a message"
    return None


def assert_utc(ts: object) -> None:
    assert isinstance(ts, datetime), ts
    assert ts.tzinfo is not None and ts.utcoffset() == timedelta(0), ts


def assert_number(value: object, *, positive: bool) -> None:
    assert isinstance(value, Decimal) and value.is_finite(), value
    assert value > 0 if positive else value >= 0, value
    assert value == 0 or SMALLEST_NUMBER <= abs(value) <= LARGEST_NUMBER, value


def assert_text(value: object) -> None:
    assert isinstance(value, str), value
    value.encode("utf-8")  # what a JSON response or a log shipper does with it


def assert_event(event: Event) -> None:
    """Well formed by the contract, usable in arithmetic, and sendable as JSON."""
    assert_utc(event.ts_event)
    if isinstance(event, QuoteUpdated):
        assert_number(event.bid, positive=True)
        assert_number(event.ask, positive=True)
        assert_number(event.bid_size, positive=False)
        assert_number(event.ask_size, positive=False)
        assert event.bid <= event.ask
        _ = (event.ask - event.bid) / ((event.ask + event.bid) / 2)  # the spread, as consumers do
    elif isinstance(event, TradePrinted):
        assert_number(event.price, positive=True)
        assert_number(event.size, positive=True)
        _ = event.price * event.size
    elif isinstance(event, BarClosed):
        assert_utc(event.ts_open)
        assert event.ts_open < event.ts_event
        for price in (event.open, event.high, event.low, event.close):
            assert_number(price, positive=True)
        assert_number(event.volume, positive=False)
        assert event.low <= min(event.open, event.close) <= max(event.open, event.close)
        assert max(event.open, event.close) <= event.high
        _ = (event.close - event.open) / event.open * event.volume
    else:  # pragma: no cover - the entry points make only these
        raise AssertionError(f"unexpected event {event!r}")
    json.dumps(event.payload(), allow_nan=False).encode("utf-8")


def assert_news(item: NewsItem, provider: str) -> None:
    assert item.provider == provider
    assert_utc(item.published_at)
    assert item.id.strip() and item.headline.strip()
    for text in (item.id, item.headline, item.summary, item.source, *item.symbols):
        assert_text(text)
    if item.url is not None:
        assert item.url
        assert_text(item.url)


def assert_asset(asset: AssetInfo, symbol: str, provider: str) -> None:
    assert asset.symbol == symbol and asset.source == provider
    for text in (asset.name, asset.asset_class, asset.exchange, asset.currency):
        if text is not None:
            assert_text(text)
    for key, value in asset.details.items():
        assert_text(key)
        assert_text(value)
    if asset.market_cap is not None:
        assert asset.market_cap.is_finite()
        _ = asset.market_cap * 1000 / 7


# --- the documented payloads (as the fakes serve them) ----------------------------------------

T = "2024-01-02T15:04:05.123456789Z"
ALPACA_QUOTE = alpaca_data.stock_quote(T, 187.1, 187.3)
ALPACA_CRYPTO_QUOTE = alpaca_data.crypto_quote(T, 42_000.5, 42_001.25)
ALPACA_TRADE = {"t": T, "x": "V", "p": 187.2, "s": 100, "c": ["@"], "i": 1, "z": "C"}
ALPACA_BAR = alpaca_data.bar("2024-01-02T15:03:00Z", 187.0, 187.5, 186.9, 187.2)
ALPACA_NEWS = alpaca_data.news_item(31_000_001, T, "Apple beats estimates", ["AAPL", "MSFT"])
ALPACA_ASSET = alpaca_data.asset("AAPL", "Apple Inc. Common Stock")
STREAM_T = msgpack.Timestamp(1_704_207_845, 123_456_789)
ALPACA_STREAM = (
    {**ALPACA_QUOTE, "T": "q", "S": "AAPL", "t": STREAM_T},
    {**ALPACA_TRADE, "T": "t", "S": "AAPL", "t": STREAM_T},
    {**ALPACA_BAR, "T": "b", "S": "AAPL", "t": msgpack.Timestamp(1_704_207_780)},
    {**ALPACA_CRYPTO_QUOTE, "T": "q", "S": "BTC/USD", "t": STREAM_T},
)

FINNHUB_QUOTE = finnhub_api.quote(187.2, 1_704_207_600, o=186.5, h=188.0, low=186.1, pc=185.9)
FINNHUB_ROWS = [
    (1_704_207_600 + 60 * i, 187.0 + i, 187.5 + i, 186.9 + i, 187.2 + i, 1_000.0 + i)
    for i in range(4)
]
FINNHUB_CANDLES = finnhub_api.candles(FINNHUB_ROWS)
FINNHUB_NEWS = finnhub_api.news(125_000_001, 1_704_207_600, "Apple beats estimates", "AAPL,MSFT")
FINNHUB_PROFILE = finnhub_api.profile("AAPL", "Apple Inc")

CG_SIMPLE = {"bitcoin": {"usd": 67_187.33, "last_updated_at": 1_711_356_300}}
CG_ROW = [1_711_357_200_000, 67_100.5, 67_250.0, 67_050.25, 67_187.33]
CG_MARKET = coingecko_api.market("bitcoin", "btc", "Bitcoin", 67_187.33, 1.32e12, 1)

timeframes = st.sampled_from(TIMEFRAMES)


# --- the normalisation helpers ----------------------------------------------------------------


@PAYLOADS
@given(JUNK)
@example("1e999999999")
@example(10**400)
@example("0e999999999")
def test_to_decimal_is_a_usable_finite_number_or_refused(value: Any) -> None:
    number = parsed(lambda: to_decimal(value, "p"))
    if number is not None:
        assert number.is_finite()
        assert number == 0 or SMALLEST_NUMBER <= abs(number) <= LARGEST_NUMBER
        _ = number * LARGEST_NUMBER / LARGEST_NUMBER + number


@PAYLOADS
@given(st.one_of(JUNK, st.sampled_from(EPOCHS)), st.sampled_from(("s", "ms")))
@example("1e999999999", "ms")  # Decimal Overflow dividing by 1000
@example(2**63, "ms")
def test_from_epoch_is_utc_between_1970_and_2200_or_refused(value: Any, unit: str) -> None:
    at = parsed(lambda: from_epoch(value, "t", unit=unit))
    if at is not None:
        assert_utc(at)
        assert datetime(1970, 1, 2, tzinfo=UTC) <= at < datetime(2200, 1, 1, tzinfo=UTC)


@PAYLOADS
@given(st.one_of(JUNK, st.datetimes(timezones=st.timezones())))
def test_to_utc_is_aware_utc_or_refused(value: Any) -> None:
    at = parsed(lambda: to_utc(value, "t"))
    if at is not None:
        assert_utc(at)


# --- Alpaca -----------------------------------------------------------------------------------


@PAYLOADS
@given(payloads(ALPACA_QUOTE) | payloads(ALPACA_CRYPTO_QUOTE), st.sampled_from(("AAPL", "BTC/USD")))
@example({**ALPACA_QUOTE, "bp": "1e999999999", "ap": "1e999999999"}, "AAPL")  # unusable price
@example({**ALPACA_QUOTE, "bp": 187.4}, "AAPL")  # crossed
def test_alpaca_quote(raw: Any, symbol: str) -> None:
    quote = parsed(lambda: alpaca.quote_from_alpaca(symbol, raw))
    if quote is not None:
        assert_event(quote)
        assert quote.symbol == symbol


@PAYLOADS
@given(payloads(ALPACA_TRADE), st.sampled_from(("AAPL", "BTC/USD")))
def test_alpaca_trade(raw: Any, symbol: str) -> None:
    trade = parsed(lambda: alpaca.trade_from_alpaca(symbol, raw))
    if trade is not None:
        assert_event(trade)


@PAYLOADS
@given(payloads(ALPACA_BAR), st.sampled_from(("AAPL", "BTC/USD")), timeframes)
@example({**ALPACA_BAR, "t": "9999-12-31T23:59:00Z"}, "AAPL", "1Min")  # close after year 9999
@example({**ALPACA_BAR, "t": "0001-01-01T00:00:00Z"}, "AAPL", "1Day")  # New York: before year 1
def test_alpaca_bar(raw: Any, symbol: str, timeframe: Timeframe) -> None:
    bar = parsed(lambda: alpaca.bar_from_alpaca(symbol, raw, timeframe))
    if bar is not None:
        assert_event(bar)
        assert bar.timeframe == timeframe


@PAYLOADS
@given(payloads(ALPACA_NEWS))
@example({**ALPACA_NEWS, "headline": "Apple \ud800 beats"})  # lone surrogate: /news answered 500
@example({**ALPACA_NEWS, "id": None})
def test_alpaca_news(raw: Any) -> None:
    item = parsed(lambda: alpaca.news_from_alpaca(raw))
    if item is not None:
        assert_news(item, "alpaca")


@PAYLOADS
@given(payloads(ALPACA_ASSET))
@example({**ALPACA_ASSET, "name": "Apple\udfff"})
def test_alpaca_asset(raw: Any) -> None:
    asset = parsed(lambda: alpaca.asset_from_alpaca("AAPL", raw))
    if asset is not None:
        assert_asset(asset, "AAPL", "alpaca")


def stream_messages() -> st.SearchStrategy[Any]:
    """Alpaca stream messages as alpaca-py hands them to the handler (``raw_data=True``): the
    documented q/t/b messages with fields mutated (``t`` a msgpack timestamp or junk, ``S`` and
    ``T`` junk too), or any value."""
    junk = st.one_of(JUNK, msgpack_times())
    return st.one_of(
        *(field_mutations(message, junk) for message in ALPACA_STREAM),
        *(one_field(message, junk) for message in ALPACA_STREAM),
        *(st.builds(lambda t, m=m: {**m, "t": t}, msgpack_times()) for m in ALPACA_STREAM),
        st.sampled_from(ALPACA_STREAM),
        json_values(),
    )


@PAYLOADS
@given(stream_messages())
@example({**ALPACA_STREAM[0], "t": msgpack.Timestamp(2**62)})  # OverflowError in to_datetime
@example({**ALPACA_STREAM[0], "t": msgpack.Timestamp(-(2**62))})
@example({**ALPACA_STREAM[2], "t": msgpack.Timestamp(253_402_300_740)})  # 9999-12-31T23:59Z
@example({**ALPACA_STREAM[0], "S": "\ud800"})
@example({**ALPACA_STREAM[0], "T": ["q"]})
def test_alpaca_stream_message(message: Any) -> None:
    event = parsed(lambda: alpaca.events_from_stream_message(message))
    if event is not None:
        assert_event(event)
        assert event.symbol == message["S"]
        assert {"q": QuoteUpdated, "t": TradePrinted, "b": BarClosed}[message["T"]] is type(event)


@BATCHES
@given(
    st.lists(st.sampled_from(ALPACA_STREAM), min_size=1, max_size=6),
    st.lists(stream_messages(), min_size=1, max_size=4),
    st.randoms(use_true_random=False),
)
def test_alpaca_stream_bad_messages_cost_only_themselves(
    good: list[dict[str, Any]], bad: list[Any], rnd: Random
) -> None:
    """alpaca-py calls the handler once per message of a frame; a message the handler cannot
    use is rejected (logged, counted) and the others of the frame are still queued, in order."""
    frame: list[Any] = [*good]
    for message in bad:
        frame.insert(rnd.randint(0, len(frame)), message)
    rejections = RejectionLog()
    sink = alpaca.StreamSink(rejections)

    async def deliver() -> None:
        for message in frame:
            await sink.on_message(message)

    asyncio.run(deliver())
    queued = [sink.queue.get_nowait() for _ in range(sink.queue.qsize())]
    expected = [m for m in frame if parsed(lambda m=m: alpaca.events_from_stream_message(m))]
    assert len(queued) == len(expected) >= len(good)
    assert [(e.symbol, type(e)) for e in queued] == [
        (m["S"], {"q": QuoteUpdated, "t": TradePrinted, "b": BarClosed}[m["T"]]) for m in expected
    ]
    assert sum(rejections.counts.values()) == len(frame) - len(expected)


def test_alpaca_stream_sink_survives_a_normalisation_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    """Defence in depth: were the normalisation to raise something unexpected, the message is
    rejected with the error's name and the rest of the frame is still handled (alpaca-py would
    otherwise drop the rest of the frame and log only a websocket error)."""

    original = alpaca.events_from_stream_message

    def broken(message: Any) -> Event:
        if message.get("S") == "BAD":
            raise KeyError("boom")
        return original(message)

    monkeypatch.setattr(alpaca, "events_from_stream_message", broken)
    rejections = RejectionLog()
    sink = alpaca.StreamSink(rejections)

    async def deliver() -> None:
        for message in (ALPACA_STREAM[0], {**ALPACA_STREAM[1], "S": "BAD"}, ALPACA_STREAM[1]):
            await sink.on_message(message)

    asyncio.run(deliver())
    assert [type(sink.queue.get_nowait()) for _ in range(2)] == [QuoteUpdated, TradePrinted]
    assert rejections.counts["alpaca"] == 1
    assert "KeyError" in rejections.last_reason["alpaca"]


def test_alpaca_stream_frame_with_an_impossible_timestamp_keeps_the_others() -> None:
    """Regression: a msgpack timestamp beyond year 9999 raised OverflowError from the handler;
    alpaca-py logged a websocket error and dropped the rest of the frame."""
    rejections = RejectionLog()
    sink = alpaca.StreamSink(rejections)
    frame = [
        ALPACA_STREAM[0],
        {**ALPACA_STREAM[0], "t": msgpack.Timestamp(2**62)},
        ALPACA_STREAM[1],
    ]

    async def deliver() -> None:
        for message in frame:
            await sink.on_message(message)

    asyncio.run(deliver())
    assert [type(sink.queue.get_nowait()) for _ in range(2)] == [QuoteUpdated, TradePrinted]
    assert sink.queue.empty()
    assert "not a time between years 1 and 9999" in rejections.last_reason["alpaca"]


# --- batches: one bad record costs only itself -------------------------------------------------


def _with_one_bad(draw: st.DrawFn, valid: list[Any]) -> list[Any]:
    """``valid`` with a junk or near-valid record inserted anywhere."""
    index = draw(st.integers(0, len(valid)))
    records = list(valid)
    records.insert(index, draw(payloads(valid[min(index, len(valid) - 1)])))
    return records


@BATCHES
@given(st.data())
def test_alpaca_rest_batches_keep_the_good_records(data: st.DataObject) -> None:
    """Quotes (by symbol), bars and news of one response go through ``collect``: the good
    records come back, the bad one is rejected with a reason."""
    bars = [
        alpaca_data.bar(f"2024-01-02T15:0{i}:00Z", 187.0, 187.5, 186.9, 187.2) for i in range(4)
    ]
    records = _with_one_bad(data.draw, bars)
    accepted, rejected = collect(
        "alpaca", records, lambda r: alpaca.bar_from_alpaca("AAPL", r, "1Min")
    )
    wanted = Counter(alpaca.bar_from_alpaca("AAPL", b, "1Min").ts_open for b in bars)
    assert wanted <= Counter(b.ts_open for b in accepted)
    assert len(accepted) + len(rejected) == len(records)
    assert all(r.reason.strip() for r in rejected)

    news = [
        alpaca_data.news_item(i, f"2024-01-02T15:0{i}:00Z", f"headline {i}", ["AAPL"])
        for i in range(3)
    ]
    records = _with_one_bad(data.draw, news)
    items, rejected = collect("alpaca", records, alpaca.news_from_alpaca)
    assert {str(n["id"]) for n in news} <= {item.id for item in items}
    assert len(items) + len(rejected) == len(records)


# --- Finnhub ----------------------------------------------------------------------------------


@PAYLOADS
@given(payloads(FINNHUB_QUOTE), st.sampled_from(("AAPL", "BINANCE:BTCUSDT")))
@example({**FINNHUB_QUOTE, "t": "1e999999999"}, "AAPL")
def test_finnhub_quote(raw: Any, symbol: str) -> None:
    quote = parsed(lambda: finnhub.quote_from_finnhub(symbol, raw))
    if quote is not None:
        assert_event(quote)
        assert quote.bid == quote.ask and quote.bid_size == quote.ask_size == 0


@PAYLOADS
@given(payloads(FINNHUB_CANDLES), st.sampled_from(("AAPL", "BINANCE:BTCUSDT")), timeframes)
def test_finnhub_candles(raw: Any, symbol: str, timeframe: Timeframe) -> None:
    result = parsed(lambda: finnhub.bars_from_candles(symbol, raw, timeframe))
    if result is not None:
        bars, rejected = result
        for bar in bars:
            assert_event(bar)
        assert all(r.reason.strip() for r in rejected)


@BATCHES
@given(st.data(), st.sampled_from(("AAPL", "BINANCE:BTCUSDT")))
def test_finnhub_candles_one_bad_cell_costs_only_its_row(data: st.DataObject, symbol: str) -> None:
    """A junk value in one cell of the columns rejects that row; the other rows are bars."""
    columns = {k: list(v) if isinstance(v, list) else v for k, v in FINNHUB_CANDLES.items()}
    column = data.draw(st.sampled_from(("t", "o", "h", "l", "c", "v")))
    row = data.draw(st.integers(0, len(FINNHUB_ROWS) - 1))
    columns[column][row] = data.draw(JUNK)
    good, _ = finnhub.bars_from_candles(symbol, FINNHUB_CANDLES, "1Min")
    bars, rejected = finnhub.bars_from_candles(symbol, columns, "1Min")
    kept = [b.ts_open for b in good]
    del kept[row]
    assert Counter(kept) <= Counter(b.ts_open for b in bars)
    assert len(bars) + len(rejected) == len(FINNHUB_ROWS)


@PAYLOADS
@given(payloads(FINNHUB_NEWS))
@example({**FINNHUB_NEWS, "headline": "\ud83d Apple"})
@example({**FINNHUB_NEWS, "datetime": 10**19})
def test_finnhub_news(raw: Any) -> None:
    item = parsed(lambda: finnhub.news_from_finnhub("AAPL", raw))
    if item is not None:
        assert_news(item, "finnhub")


@PAYLOADS
@given(payloads(FINNHUB_PROFILE))
@example({**FINNHUB_PROFILE, "marketCapitalization": "9e999999"})  # decimal.Overflow (x 10^6)
@example({**FINNHUB_PROFILE, "name": "\ud800"})
def test_finnhub_profile(raw: Any) -> None:
    asset = parsed(lambda: finnhub.asset_from_profile("AAPL", raw))
    if asset is not None:
        assert_asset(asset, "AAPL", "finnhub")


# --- CoinGecko --------------------------------------------------------------------------------


@PAYLOADS
@given(payloads(CG_SIMPLE))
@example([])  # not an object
@example({"bitcoin": {"usd": "1e999999999", "last_updated_at": 1_711_356_300}})
def test_coingecko_simple_price(raw: Any) -> None:
    quote = parsed(lambda: coingecko.quote_from_simple_price("BTC/USD", "bitcoin", "usd", raw))
    if quote is not None:
        assert_event(quote)


@PAYLOADS
@given(payloads(CG_ROW), st.sampled_from((timedelta(minutes=30), timedelta(hours=4))))
@example(["1e999999999", 1, 1, 1, 1], timedelta(minutes=30))  # decimal.Overflow (ms / 1000)
@example([1_711_357_200_000, -1, 2, 0.5, 1], timedelta(minutes=30))
def test_coingecko_ohlc_row(raw: Any, granularity: timedelta) -> None:
    candle = parsed(lambda: coingecko.candle_from_ohlc(raw, granularity))
    if candle is not None:
        assert_utc(candle.ts_open)
        for price in (candle.open, candle.high, candle.low, candle.close):
            assert_number(price, positive=True)
        assert candle.low <= min(candle.open, candle.close)
        assert max(candle.open, candle.close) <= candle.high


HALF_HOURS = [
    [
        int(datetime(2024, 3, 25, 8, 30, tzinfo=UTC).timestamp() * 1000) + 1_800_000 * i,
        100.0 + i,
        101.0 + i,
        99.5 + i,
        100.5 + i,
    ]
    for i in range(8)  # four complete hours, 08:00 to 12:00
]


def assert_one_bad_row_costs_only_its_bar(index: int, bad: Any) -> None:
    rows: list[Any] = [list(r) for r in HALF_HOURS]
    rows[index] = bad
    good, _ = coingecko.bars_from_ohlc("BTC/USD", HALF_HOURS, timedelta(minutes=30), "1Hour")
    assert len(good) == 4
    bars, rejected = coingecko.bars_from_ohlc("BTC/USD", rows, timedelta(minutes=30), "1Hour")
    for bar in bars:
        assert_event(bar)
    hit = good[index // 2].ts_open
    assert [b.ts_open for b in bars if b.ts_open != hit] == [
        b.ts_open for b in good if b.ts_open != hit
    ]
    assert all(r.reason.strip() for r in rejected)


@BATCHES
@given(st.data())
def test_coingecko_ohlc_one_bad_row_costs_only_its_bar(data: st.DataObject) -> None:
    """Rows are checked one by one; a bad row leaves its hour incomplete (that bar is not
    made), every other hour is still a bar."""
    index = data.draw(st.integers(0, len(HALF_HOURS) - 1))
    assert_one_bad_row_costs_only_its_bar(index, data.draw(payloads(HALF_HOURS[index])))


@pytest.mark.parametrize(
    "bad",
    [
        [HALF_HOURS[3][0], -1.0, 101.0, 99.0, 100.0],  # negative open
        [HALF_HOURS[3][0], 100.0, 99.0, 101.0, 100.0],  # high below low
        [HALF_HOURS[3][0], 0, 0, 0, 0],
    ],
)
def test_coingecko_ohlc_row_breaking_bar_rules_is_rejected_not_the_whole_answer(bad: Any) -> None:
    """Regression: such a row used to pass as a candle, and the bar made from its hour raised
    MalformedPayloadError out of ``bars()``: every bar of the answer was lost and the guard
    counted a provider failure."""
    assert parsed(lambda: coingecko.candle_from_ohlc(bad, timedelta(minutes=30))) is None
    assert_one_bad_row_costs_only_its_bar(3, bad)


@PAYLOADS
@given(payloads(CG_MARKET))
@example({**CG_MARKET, "market_cap": "1e999999999"})
@example({**CG_MARKET, "name": "Bit\udc00coin"})
def test_coingecko_market(raw: Any) -> None:
    asset = parsed(lambda: coingecko.asset_from_market("BTC/USD", "usd", raw))
    if asset is not None:
        assert_asset(asset, "BTC/USD", "coingecko")
