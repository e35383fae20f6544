"""Alpaca connector on alpaca-py's real clients against the local fake Market Data API."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from market_data.adapters.alpaca import AlpacaConfig, AlpacaConnector
from market_data.adapters.secrets import StaticSecretSource
from market_data.service.ports import (
    CredentialsMissingError,
    MalformedResponseError,
    ProviderAuthError,
    ProviderUnavailableError,
    RateLimitedError,
)
from market_data.service.rejections import RejectionLog
from tests.fakes.alpaca_data import (
    FakeAlpacaData,
    asset,
    bar,
    crypto_quote,
    news_item,
    stock_quote,
)
from tests.fakes.clock import FakeTime
from trader_common.contracts import BarClosed, QuoteUpdated, TradePrinted

from .conftest import ALPACA_KEY, ALPACA_SECRET

pytestmark = pytest.mark.contract

KEYS = {"alpaca:api-key": ALPACA_KEY, "alpaca:secret-key": ALPACA_SECRET}


def connector(
    fake: FakeAlpacaData,
    clock: FakeTime,
    secrets: dict[str, str] | None = None,
    rejections: RejectionLog | None = None,
    **config: object,
) -> AlpacaConnector:
    settings = {
        "data_url": fake.base_url,  # type: ignore[attr-defined]
        "trading_url": fake.base_url,  # type: ignore[attr-defined]
        "rate_per_minute": 6000.0,
        "burst": 100,
        "max_retries_429": 2,
        "max_retry_wait_seconds": 10.0,
    } | config
    return AlpacaConnector(
        StaticSecretSource(KEYS if secrets is None else secrets),
        AlpacaConfig(**settings),  # type: ignore[arg-type]
        rejections=rejections,
        clock=clock.now,
        monotonic=clock.monotonic,
        sleep=clock.sleep,
    )


async def test_alpaca_latest_quotes_stock_and_crypto_are_decimal_and_utc(
    alpaca: FakeAlpacaData, fake_time: FakeTime
) -> None:
    alpaca.stock_quotes["AAPL"] = stock_quote("2024-01-02T15:04:05.123456789Z", 187.1, 187.3, 2, 3)
    alpaca.crypto_quotes["BTC/USD"] = crypto_quote("2024-01-02T15:04:06Z", 42000.1, 42001.25)
    quotes = await connector(alpaca, fake_time).latest_quotes(["AAPL", "BTC/USD"])
    by_symbol = {q.symbol: q for q in quotes}
    aapl = by_symbol["AAPL"]
    assert (aapl.bid, aapl.ask, aapl.bid_size, aapl.ask_size) == (
        Decimal("187.1"),
        Decimal("187.3"),
        Decimal(2),
        Decimal(3),
    )
    assert aapl.ts_event == datetime(2024, 1, 2, 15, 4, 5, 123456, tzinfo=UTC)
    assert aapl.source == "alpaca"
    assert by_symbol["BTC/USD"].ask == Decimal("42001.25")
    sent = alpaca.hits("/v2/stocks/quotes/latest")[0]
    assert sent.query["symbols"] == "AAPL"
    assert sent.query["feed"] == "iex"
    assert sent.headers["apca-api-key-id"] == ALPACA_KEY


async def test_alpaca_unknown_symbol_gives_no_quote(
    alpaca: FakeAlpacaData, fake_time: FakeTime
) -> None:
    assert await connector(alpaca, fake_time).latest_quotes(["NOPE"]) == []


async def test_alpaca_malformed_record_is_rejected_and_logged_others_returned(
    alpaca: FakeAlpacaData, fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    alpaca.stock_quotes["AAPL"] = stock_quote("2024-01-02T15:04:05Z", 187.1, 187.3)
    alpaca.stock_quotes["MSFT"] = {
        "t": "2024-01-02T15:04:05Z",
        "bp": "abc",
        "ap": 1,
        "bs": 1,
        "as": 1,
    }
    alpaca.stock_quotes["SPY"] = stock_quote("2024-01-02T15:04:05Z", 470.5, 470.1)  # crossed
    rejections = RejectionLog()
    with caplog.at_level(logging.WARNING, logger="market_data.rejections"):
        quotes = await connector(alpaca, fake_time, rejections=rejections).latest_quotes(
            ["AAPL", "MSFT", "SPY"]
        )
    assert [q.symbol for q in quotes] == ["AAPL"]
    assert rejections.counts["alpaca"] == 2
    reasons = [r.reason for r in caplog.records if r.getMessage().startswith("rejected malformed")]
    assert any("bp is 'abc'" in reason for reason in reasons)
    assert any("crossed quote" in reason for reason in reasons)


async def test_alpaca_bars_follow_next_page_token_across_pages(
    alpaca: FakeAlpacaData, fake_time: FakeTime
) -> None:
    alpaca.page_size = 2
    alpaca.bars[("AAPL", "1Min")] = [
        bar(f"2024-01-02T15:0{m}:00Z", 10 + m, 11 + m, 9 + m, 10.5 + m) for m in range(5)
    ]
    bars = await connector(alpaca, fake_time).bars(
        "AAPL", "1Min", datetime(2024, 1, 2, 15, tzinfo=UTC), datetime(2024, 1, 2, 16, tzinfo=UTC)
    )
    assert [b.ts_open.minute for b in bars] == [0, 1, 2, 3, 4]
    assert all(isinstance(b, BarClosed) and b.timeframe == "1Min" for b in bars)
    assert bars[0].ts_event == datetime(2024, 1, 2, 15, 1, tzinfo=UTC)
    requests = alpaca.hits("/v2/stocks/bars")
    assert len(requests) == 3
    assert [r.query.get("page_token") for r in requests] == [None, "2", "4"]


async def test_alpaca_bars_end_is_exclusive_and_limit_caps(
    alpaca: FakeAlpacaData, fake_time: FakeTime
) -> None:
    alpaca.bars[("AAPL", "1Min")] = [
        bar(f"2024-01-02T15:0{m}:00Z", 10, 11, 9, 10) for m in range(5)
    ]
    con = connector(alpaca, fake_time)
    start = datetime(2024, 1, 2, 15, tzinfo=UTC)
    exclusive = await con.bars("AAPL", "1Min", start, datetime(2024, 1, 2, 15, 3, tzinfo=UTC))
    assert [b.ts_open.minute for b in exclusive] == [0, 1, 2]
    limited = await con.bars("AAPL", "1Min", start, datetime(2024, 1, 2, 16, tzinfo=UTC), 2)
    assert len(limited) == 2


async def test_alpaca_bars_empty_range_is_empty(
    alpaca: FakeAlpacaData, fake_time: FakeTime
) -> None:
    bars = await connector(alpaca, fake_time).bars(
        "AAPL", "1Hour", datetime(2024, 1, 2, tzinfo=UTC), datetime(2024, 1, 3, tzinfo=UTC)
    )
    assert bars == []


async def test_alpaca_daily_stock_bar_spans_the_new_york_session(
    alpaca: FakeAlpacaData, fake_time: FakeTime
) -> None:
    alpaca.bars[("AAPL", "1Day")] = [
        bar("2024-01-02T05:00:00Z", 187, 188, 183, 185.64),
        bar("2024-07-01T04:00:00Z", 212, 217.5, 211.9, 216.75),
    ]
    winter, summer = await connector(alpaca, fake_time).bars(
        "AAPL", "1Day", datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 12, 31, tzinfo=UTC)
    )
    assert (winter.ts_open, winter.ts_event) == (
        datetime(2024, 1, 2, 14, 30, tzinfo=UTC),
        datetime(2024, 1, 2, 21, 0, tzinfo=UTC),
    )
    assert (summer.ts_open, summer.ts_event) == (
        datetime(2024, 7, 1, 13, 30, tzinfo=UTC),
        datetime(2024, 7, 1, 20, 0, tzinfo=UTC),
    )


async def test_alpaca_latest_bar_is_the_newest_closed_bar(
    alpaca: FakeAlpacaData, fake_time: FakeTime
) -> None:
    alpaca.crypto_quotes.clear()
    alpaca.bars[("BTC/USD", "1Hour")] = [
        bar("2024-01-02T12:00:00Z", 1, 2, 1, 2),
        bar("2024-01-02T13:00:00Z", 2, 3, 2, 3),
        bar("2024-01-02T14:00:00Z", 3, 4, 3, 4),
        bar("2024-01-02T15:00:00Z", 4, 5, 4, 5),  # still open at 15:00 (fake_time's now)
    ]
    latest = await connector(alpaca, fake_time).latest_bar("BTC/USD", "1Hour")
    assert latest is not None
    assert latest.ts_open == datetime(2024, 1, 2, 14, tzinfo=UTC)
    assert alpaca.hits("/v1beta3/crypto/us/bars")[0].query["sort"] == "desc"


async def test_alpaca_429_retry_after_is_honoured_then_the_call_succeeds(
    alpaca: FakeAlpacaData, fake_time: FakeTime
) -> None:
    alpaca.stock_quotes["AAPL"] = stock_quote("2024-01-02T15:04:05Z", 187.1, 187.3)
    alpaca.rate_limit("/v2/stocks/quotes/latest", retry_after="7")
    quotes = await connector(alpaca, fake_time).latest_quotes(["AAPL"])
    assert [q.symbol for q in quotes] == ["AAPL"]
    assert fake_time.sleeps == [7.0]
    assert len(alpaca.hits("/v2/stocks/quotes/latest")) == 2


async def test_alpaca_429_in_the_middle_of_pagination_keeps_earlier_pages(
    alpaca: FakeAlpacaData, fake_time: FakeTime
) -> None:
    alpaca.page_size = 2
    alpaca.bars[("AAPL", "1Min")] = [
        bar(f"2024-01-02T15:0{m}:00Z", 10, 11, 9, 10) for m in range(5)
    ]
    alpaca.rate_limit("/v2/stocks/bars", retry_after="3", skip=1)
    bars = await connector(alpaca, fake_time).bars(
        "AAPL", "1Min", datetime(2024, 1, 2, 15, tzinfo=UTC), datetime(2024, 1, 2, 16, tzinfo=UTC)
    )
    assert len(bars) == 5
    assert fake_time.sleeps == [3.0]
    assert [r.query.get("page_token") for r in alpaca.hits("/v2/stocks/bars")] == [
        None,
        "2",
        "2",
        "4",
    ]


async def test_alpaca_429_without_retry_after_backs_off_exponentially(
    alpaca: FakeAlpacaData, fake_time: FakeTime
) -> None:
    alpaca.stock_quotes["AAPL"] = stock_quote("2024-01-02T15:04:05Z", 187.1, 187.3)
    alpaca.rate_limit("/v2/stocks/quotes/latest", retry_after=None, times=2)
    await connector(alpaca, fake_time).latest_quotes(["AAPL"])
    assert fake_time.sleeps == [0.5, 1.0]


async def test_alpaca_429_beyond_the_retries_raises_rate_limited(
    alpaca: FakeAlpacaData, fake_time: FakeTime
) -> None:
    alpaca.rate_limit("/v2/stocks/quotes/latest", retry_after="1", times=10)
    with pytest.raises(RateLimitedError, match="HTTP 429") as caught:
        await connector(alpaca, fake_time).latest_quotes(["AAPL"])
    assert caught.value.retry_after == 1.0
    assert len(alpaca.hits("/v2/stocks/quotes/latest")) == 3  # 1 + max_retries_429


async def test_alpaca_retry_after_longer_than_allowed_is_not_waited(
    alpaca: FakeAlpacaData, fake_time: FakeTime
) -> None:
    alpaca.rate_limit("/v2/stocks/quotes/latest", retry_after="3600")
    with pytest.raises(RateLimitedError):
        await connector(alpaca, fake_time).latest_quotes(["AAPL"])
    assert fake_time.sleeps == []


async def test_alpaca_client_side_budget_paces_requests(
    alpaca: FakeAlpacaData, fake_time: FakeTime
) -> None:
    alpaca.stock_quotes["AAPL"] = stock_quote("2024-01-02T15:04:05Z", 187.1, 187.3)
    con = connector(alpaca, fake_time, rate_per_minute=60.0, burst=1)
    for _ in range(3):
        await con.latest_quotes(["AAPL"])
    assert fake_time.sleeps == [1.0, 1.0]


async def test_alpaca_wrong_keys_raise_auth_error(
    alpaca: FakeAlpacaData, fake_time: FakeTime
) -> None:
    secrets = {"alpaca:api-key": "wrong", "alpaca:secret-key": "wrong"}
    with pytest.raises(ProviderAuthError, match="HTTP 401"):
        await connector(alpaca, fake_time, secrets).latest_quotes(["AAPL"])


async def test_alpaca_server_error_raises_unavailable(
    alpaca: FakeAlpacaData, fake_time: FakeTime
) -> None:
    alpaca.fail("/v2/stocks/quotes/latest", 500, {"message": "internal error"})
    with pytest.raises(ProviderUnavailableError, match="HTTP 500"):
        await connector(alpaca, fake_time).latest_quotes(["AAPL"])


@pytest.mark.parametrize(
    "body", ["{not json", '{"quotes": "oops"}', '{"unexpected": {}}', "[1, 2]"]
)
async def test_alpaca_malformed_response_raises_malformed(
    alpaca: FakeAlpacaData, fake_time: FakeTime, body: str
) -> None:
    alpaca.malformed("/v2/stocks/quotes/latest", body)
    with pytest.raises(MalformedResponseError):
        await connector(alpaca, fake_time).latest_quotes(["AAPL"])


async def test_alpaca_without_keys_stocks_fail_clearly_but_crypto_works(
    alpaca: FakeAlpacaData, fake_time: FakeTime
) -> None:
    alpaca.crypto_quotes["ETH/USD"] = crypto_quote("2024-01-02T15:04:06Z", 2300.5, 2301)
    con = connector(alpaca, fake_time, secrets={})
    with pytest.raises(CredentialsMissingError, match="alpaca:api-key"):
        await con.latest_quotes(["AAPL"])
    assert [q.symbol for q in await con.latest_quotes(["ETH/USD"])] == ["ETH/USD"]
    assert "apca-api-key-id" not in alpaca.hits("/v1beta3/crypto/us/latest/quotes")[0].headers


async def test_alpaca_news_paginated_newest_first_with_bad_item_rejected(
    alpaca: FakeAlpacaData, fake_time: FakeTime
) -> None:
    alpaca.page_size = 2
    alpaca.news = [
        news_item(1, "2024-01-02T10:00:00Z", "Apple ships", ["AAPL"]),
        news_item(2, "2024-01-02T11:00:00Z", "Apple sells", ["AAPL"]),
        news_item(3, "2024-01-02T12:00:00Z", "Apple buys", ["AAPL", "MSFT"]),
        {
            "id": 4,
            "headline": "",
            "created_at": "2024-01-02T13:00:00Z",
            "source": "x",
            "symbols": ["AAPL"],
        },
    ]
    rejections = RejectionLog()
    items = await connector(alpaca, fake_time, rejections=rejections).news(
        ["AAPL"], datetime(2024, 1, 2, tzinfo=UTC), datetime(2024, 1, 3, tzinfo=UTC)
    )
    assert [n.id for n in items] == ["3", "2", "1"]
    assert items[0].symbols == ("AAPL", "MSFT")
    assert items[0].published_at == datetime(2024, 1, 2, 12, tzinfo=UTC)
    assert rejections.counts["alpaca"] == 1
    assert len(alpaca.hits("/v1beta1/news")) == 2


async def test_alpaca_assets_found_and_unknown_left_out(
    alpaca: FakeAlpacaData, fake_time: FakeTime
) -> None:
    alpaca.assets["AAPL"] = asset("AAPL", "Apple Inc. Common Stock")
    alpaca.assets["BTCUSD"] = asset("BTC/USD", "Bitcoin", "crypto", "CRYPTO")
    found = await connector(alpaca, fake_time).assets(["AAPL", "NOPE", "BTC/USD"])
    assert [(a.symbol, a.asset_class, a.tradable) for a in found] == [
        ("AAPL", "us_equity", True),
        ("BTC/USD", "crypto", True),
    ]


async def test_alpaca_secret_values_never_reach_logs_or_errors(
    alpaca: FakeAlpacaData, fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    # A provider error that echoes the credentials back must not leak them.
    alpaca.fail(
        "/v2/stocks/quotes/latest", 500, {"message": f"bad key {ALPACA_KEY}:{ALPACA_SECRET}"}
    )
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ProviderUnavailableError) as caught:
        await connector(alpaca, fake_time).latest_quotes(["AAPL"])
    assert ALPACA_SECRET not in str(caught.value)
    assert ALPACA_KEY not in str(caught.value)
    assert "***" in str(caught.value)
    for record in caplog.records:
        text = record.getMessage() + repr(record.__dict__)
        assert ALPACA_SECRET not in text


async def test_alpaca_stream_relays_quotes_trades_and_bars_and_rejects_bad_frames(
    alpaca: FakeAlpacaData,
    alpaca_stream,
    fake_time: FakeTime,  # type: ignore[no-untyped-def]
) -> None:
    t = datetime(2024, 1, 2, 15, 4, 5, 123456, tzinfo=UTC)
    alpaca_stream.frames = [
        [
            {
                "T": "q",
                "S": "AAPL",
                "bx": "V",
                "bp": 187.1,
                "bs": 2,
                "ax": "V",
                "ap": 187.3,
                "as": 3,
                "c": ["R"],
                "z": "C",
                "t": t,
            },
            {
                "T": "t",
                "S": "AAPL",
                "i": 1,
                "x": "V",
                "p": 187.2,
                "s": 100,
                "c": ["@"],
                "z": "C",
                "t": t,
            },
        ],
        [{"T": "q", "S": "AAPL", "bp": "garbage", "bs": 2, "ap": 187.3, "as": 3, "t": t}],
        [
            {
                "T": "b",
                "S": "AAPL",
                "o": 187.0,
                "h": 187.5,
                "l": 186.9,
                "c": 187.2,
                "v": 1200,
                "n": 40,
                "vw": 187.1,
                "t": datetime(2024, 1, 2, 15, 3, tzinfo=UTC),
            }
        ],
    ]
    rejections = RejectionLog()
    con = connector(alpaca, fake_time, rejections=rejections, stock_stream_url=alpaca_stream.url)
    received = []
    stream = con.stream(["AAPL"])
    async for batch in stream:
        received.extend(batch)
        if len(received) >= 3:
            break
    await stream.aclose()
    await con.aclose()
    kinds = [type(e) for e in received]
    assert kinds == [QuoteUpdated, TradePrinted, BarClosed]
    quote, trade, minute = received
    assert quote.bid == Decimal("187.1") and quote.ts_event == t
    assert trade.size == Decimal(100)
    assert (minute.ts_open, minute.timeframe) == (datetime(2024, 1, 2, 15, 3, tzinfo=UTC), "1Min")
    assert rejections.counts["alpaca"] == 1
    (subscription,) = alpaca_stream.subscriptions
    assert subscription["quotes"] == ["AAPL"] and subscription["trades"] == ["AAPL"]
