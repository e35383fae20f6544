"""Finnhub connector on finnhub-python's real client against the local fake Finnhub API."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from market_data.adapters.finnhub import FinnhubConfig, FinnhubConnector
from market_data.adapters.secrets import StaticSecretSource
from market_data.service.ports import (
    CredentialsMissingError,
    MalformedResponseError,
    NotSupportedError,
    ProviderAuthError,
    ProviderRequestError,
    ProviderUnavailableError,
    RateLimitedError,
)
from market_data.service.rejections import RejectionLog
from tests.fakes.clock import FakeTime
from tests.fakes.finnhub_api import FakeFinnhub, news, profile, quote
from tests.fakes.server import free_port

from .conftest import FINNHUB_TOKEN

pytestmark = pytest.mark.contract

JAN2 = int(datetime(2024, 1, 2, tzinfo=UTC).timestamp())


def connector(
    fake: FakeFinnhub | None,
    clock: FakeTime,
    token: str | None = FINNHUB_TOKEN,
    rejections: RejectionLog | None = None,
    url: str | None = None,
    **config: object,
) -> FinnhubConnector:
    settings = {
        "api_url": url or f"{fake.base_url}/api/v1",  # type: ignore[union-attr]
        "rate_per_minute": 6000.0,
        "burst": 100,
        "max_retries_429": 2,
        "max_retry_wait_seconds": 10.0,
        "timeout_seconds": 5.0,
    } | config
    return FinnhubConnector(
        StaticSecretSource({"finnhub:api-key": token} if token else {}),
        FinnhubConfig(**settings),  # type: ignore[arg-type]
        rejections=rejections,
        clock=clock.now,
        monotonic=clock.monotonic,
        sleep=clock.sleep,
    )


async def test_finnhub_quote_is_a_zero_width_quote_at_the_quote_time(
    finnhub: FakeFinnhub, fake_time: FakeTime
) -> None:
    finnhub.quotes["AAPL"] = quote(185.64, JAN2 + 57600, pc=187.15)
    (q,) = await connector(finnhub, fake_time).latest_quotes(["AAPL"])
    assert (q.bid, q.ask, q.bid_size, q.ask_size) == (
        Decimal("185.64"),
        Decimal("185.64"),
        Decimal(0),
        Decimal(0),
    )
    assert q.ts_event == datetime(2024, 1, 2, 16, tzinfo=UTC)
    assert q.source == "finnhub"
    assert finnhub.hits("/api/v1/quote")[0].query["token"] == FINNHUB_TOKEN


async def test_finnhub_unknown_symbol_all_zero_answer_gives_no_quote(
    finnhub: FakeFinnhub, fake_time: FakeTime
) -> None:
    assert await connector(finnhub, fake_time).latest_quotes(["NOPE"]) == []


async def test_finnhub_malformed_quote_rejected_others_kept_all_bad_raises(
    finnhub: FakeFinnhub, fake_time: FakeTime
) -> None:
    finnhub.quotes["AAPL"] = quote(185.64, JAN2)
    finnhub.quotes["MSFT"] = {"c": "n/a", "t": JAN2}
    rejections = RejectionLog()
    con = connector(finnhub, fake_time, rejections=rejections)
    assert [q.symbol for q in await con.latest_quotes(["AAPL", "MSFT"])] == ["AAPL"]
    assert rejections.counts["finnhub"] == 1
    with pytest.raises(MalformedResponseError, match="c is 'n/a'"):
        await con.latest_quotes(["MSFT"])


async def test_finnhub_daily_candles_span_sessions_and_no_data_is_empty(
    finnhub: FakeFinnhub, fake_time: FakeTime
) -> None:
    finnhub.candles[("AAPL", "D")] = [
        (JAN2, 187.15, 188.44, 183.89, 185.64, 82488700),
        (JAN2 + 86400, 184.22, 185.88, 183.43, 184.25, 58414500),
    ]
    con = connector(finnhub, fake_time)
    bars = await con.bars(
        "AAPL", "1Day", datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 5, tzinfo=UTC)
    )
    assert [(b.ts_open, b.ts_event) for b in bars] == [
        (datetime(2024, 1, 2, 14, 30, tzinfo=UTC), datetime(2024, 1, 2, 21, tzinfo=UTC)),
        (datetime(2024, 1, 3, 14, 30, tzinfo=UTC), datetime(2024, 1, 3, 21, tzinfo=UTC)),
    ]
    assert bars[0].close == Decimal("185.64")
    assert bars[0].volume == Decimal(82488700)
    query = finnhub.hits("/api/v1/stock/candle")[0].query
    assert (query["resolution"], query["from"]) == (
        "D",
        str(int(datetime(2024, 1, 1, tzinfo=UTC).timestamp())),
    )
    empty = await con.bars(
        "AAPL", "1Day", datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 1, 5, tzinfo=UTC)
    )
    assert empty == []


async def test_finnhub_crypto_symbols_use_crypto_candles(
    finnhub: FakeFinnhub, fake_time: FakeTime
) -> None:
    finnhub.candles[("BINANCE:BTCUSDT", "60")] = [(JAN2, 42000, 42500, 41800, 42300.5, 1234.5)]
    bars = await connector(finnhub, fake_time).bars(
        "BINANCE:BTCUSDT",
        "1Hour",
        datetime(2024, 1, 1, tzinfo=UTC),
        datetime(2024, 1, 3, tzinfo=UTC),
    )
    assert [(b.ts_open, b.close) for b in bars] == [
        (datetime(2024, 1, 2, tzinfo=UTC), Decimal("42300.5"))
    ]
    assert finnhub.hits("/api/v1/crypto/candle")


async def test_finnhub_candle_arrays_of_different_length_are_rejected_whole(
    finnhub: FakeFinnhub, fake_time: FakeTime
) -> None:
    finnhub.malformed(
        "/api/v1/stock/candle",
        '{"s": "ok", "t": [1704153600, 1704240000], "o": [1], "h": [1, 2], "l": [1, 2],'
        ' "c": [1, 2], "v": [1, 2]}',
    )
    rejections = RejectionLog()
    with pytest.raises(MalformedResponseError, match="differ in length"):
        await connector(finnhub, fake_time, rejections=rejections).bars(
            "AAPL", "1Day", datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 5, tzinfo=UTC)
        )
    assert rejections.counts["finnhub"] == 1


async def test_finnhub_bad_candle_row_is_rejected_others_kept(
    finnhub: FakeFinnhub, fake_time: FakeTime
) -> None:
    finnhub.malformed(
        "/api/v1/stock/candle",
        '{"s": "ok", "t": [1704153600, 1704240000], "o": [10, null], "h": [11, 2],'
        ' "l": [9, 1], "c": [10.5, 2], "v": [100, 5]}',
    )
    rejections = RejectionLog()
    bars = await connector(finnhub, fake_time, rejections=rejections).bars(
        "AAPL", "1Day", datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 5, tzinfo=UTC)
    )
    assert [b.close for b in bars] == [Decimal("10.5")]
    assert rejections.counts["finnhub"] == 1


async def test_finnhub_429_retry_after_is_honoured(
    finnhub: FakeFinnhub, fake_time: FakeTime
) -> None:
    finnhub.quotes["AAPL"] = quote(185.64, JAN2)
    finnhub.rate_limit("/api/v1/quote", retry_after="4")
    assert len(await connector(finnhub, fake_time).latest_quotes(["AAPL"])) == 1
    assert fake_time.sleeps == [4.0]


async def test_finnhub_429_persisting_raises_rate_limited(
    finnhub: FakeFinnhub, fake_time: FakeTime
) -> None:
    finnhub.rate_limit("/api/v1/quote", retry_after="1", times=10)
    with pytest.raises(RateLimitedError):
        await connector(finnhub, fake_time).latest_quotes(["AAPL"])


async def test_finnhub_documented_60_per_minute_budget_paces_polls(
    finnhub: FakeFinnhub, fake_time: FakeTime
) -> None:
    finnhub.quotes["AAPL"] = quote(185.64, JAN2)
    con = connector(finnhub, fake_time, rate_per_minute=60.0, burst=2)
    for _ in range(4):
        await con.latest_quotes(["AAPL"])
    assert fake_time.sleeps == [1.0, 1.0]


async def test_finnhub_invalid_key_is_an_auth_error_without_the_key_in_it(
    finnhub: FakeFinnhub, fake_time: FakeTime
) -> None:
    with pytest.raises(ProviderAuthError, match="Invalid API key") as caught:
        await connector(finnhub, fake_time, token="wrong-token-value").latest_quotes(["AAPL"])
    assert "wrong-token-value" not in str(caught.value)


async def test_finnhub_premium_endpoint_403_is_a_request_error_not_an_outage(
    finnhub: FakeFinnhub, fake_time: FakeTime
) -> None:
    finnhub.fail("/api/v1/stock/candle", 403, {"error": "You don't have access to this resource."})
    with pytest.raises(ProviderRequestError, match="HTTP 403") as caught:
        await connector(finnhub, fake_time).bars(
            "AAPL", "1Day", datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 5, tzinfo=UTC)
        )
    assert not caught.value.counts_as_failure


async def test_finnhub_non_json_content_is_malformed(
    finnhub: FakeFinnhub, fake_time: FakeTime
) -> None:
    finnhub.fail("/api/v1/quote", 200, "<html>maintenance</html>", content_type="text/html")
    with pytest.raises(MalformedResponseError, match="Invalid Response"):
        await connector(finnhub, fake_time).latest_quotes(["AAPL"])


async def test_finnhub_unreachable_is_unavailable_and_token_is_redacted(
    fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    con = connector(None, fake_time, url=f"http://127.0.0.1:{free_port()}/api/v1")
    with pytest.raises(ProviderUnavailableError) as caught:
        await con.latest_quotes(["AAPL"])
    assert "ConnectionError" in str(caught.value)
    assert FINNHUB_TOKEN not in str(caught.value)
    assert all(FINNHUB_TOKEN not in r.getMessage() for r in caplog.records)


async def test_finnhub_missing_key_is_credentials_missing(fake_time: FakeTime) -> None:
    con = connector(None, fake_time, token=None, url="http://127.0.0.1:9/api/v1")
    with pytest.raises(CredentialsMissingError, match="finnhub:api-key"):
        await con.latest_quotes(["AAPL"])


async def test_finnhub_company_news_in_range_newest_first_bad_item_rejected(
    finnhub: FakeFinnhub, fake_time: FakeTime
) -> None:
    finnhub.news["AAPL"] = [
        news(1, JAN2 + 3600, "Apple ships", "AAPL"),
        news(2, JAN2 + 7200, "Apple sells", "AAPL,MSFT"),
        news(3, JAN2 - 86400 * 3, "Old news", "AAPL"),
        {"id": 4, "datetime": "yesterday", "headline": "Bad", "source": "x"},
    ]
    rejections = RejectionLog()
    items = await connector(finnhub, fake_time, rejections=rejections).news(
        ["AAPL"], datetime(2024, 1, 2, tzinfo=UTC), datetime(2024, 1, 3, tzinfo=UTC)
    )
    assert [(n.id, n.symbols) for n in items] == [("2", ("AAPL", "MSFT")), ("1", ("AAPL",))]
    assert rejections.counts["finnhub"] == 1
    sent = finnhub.hits("/api/v1/company-news")[0].query
    assert (sent["from"], sent["to"]) == ("2024-01-02", "2024-01-03")


async def test_finnhub_empty_news_is_empty(finnhub: FakeFinnhub, fake_time: FakeTime) -> None:
    items = await connector(finnhub, fake_time).news(
        ["AAPL"], datetime(2024, 1, 2, tzinfo=UTC), datetime(2024, 1, 3, tzinfo=UTC)
    )
    assert items == []


async def test_finnhub_profile_is_asset_metadata_and_unknown_is_left_out(
    finnhub: FakeFinnhub, fake_time: FakeTime
) -> None:
    finnhub.profiles["AAPL"] = profile("AAPL", "Apple Inc")
    (apple,) = await connector(finnhub, fake_time).assets(["AAPL", "NOPE"])
    assert (apple.name, apple.currency, apple.asset_class) == ("Apple Inc", "USD", "us_equity")
    assert apple.market_cap == Decimal("2800000.5") * 1_000_000


async def test_finnhub_has_no_stream(finnhub: FakeFinnhub, fake_time: FakeTime) -> None:
    with pytest.raises(NotSupportedError):
        async for _ in connector(finnhub, fake_time).stream(["AAPL"]):
            pass
