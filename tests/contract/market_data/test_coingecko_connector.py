"""CoinGecko connector (httpx on the documented REST API) against the local fake CoinGecko."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from market_data.adapters.coingecko import CoinGeckoConfig, CoinGeckoConnector
from market_data.adapters.secrets import StaticSecretSource
from market_data.service.ports import (
    MalformedResponseError,
    NotSupportedError,
    ProviderAuthError,
    ProviderRequestError,
    ProviderUnavailableError,
    RateLimitedError,
)
from market_data.service.rejections import RejectionLog
from tests.fakes.clock import FakeTime
from tests.fakes.coingecko_api import FakeCoinGecko, market

from .conftest import COINGECKO_KEY

pytestmark = pytest.mark.contract

NOW = datetime(2024, 1, 2, 15, 0, tzinfo=UTC)


def connector(
    fake: FakeCoinGecko,
    clock: FakeTime,
    key: str | None = COINGECKO_KEY,
    rejections: RejectionLog | None = None,
    **config: object,
) -> CoinGeckoConnector:
    settings = {
        "api_url": f"{fake.base_url}/api/v3",  # type: ignore[attr-defined]
        "rate_per_minute": 6000.0,
        "keyless_rate_per_minute": 6000.0,
        "burst": 100,
        "max_retries_429": 2,
        "max_retry_wait_seconds": 10.0,
    } | config
    return CoinGeckoConnector(
        StaticSecretSource({"coingecko:api-key": key} if key else {}),
        CoinGeckoConfig(**settings),  # type: ignore[arg-type]
        rejections=rejections,
        clock=clock.now,
        monotonic=clock.monotonic,
        sleep=clock.asleep,
    )


async def test_coingecko_simple_price_gives_zero_width_quotes_with_demo_key(
    coingecko: FakeCoinGecko, fake_time: FakeTime
) -> None:
    coingecko.prices["bitcoin"] = {"usd": 67187.33, "eur": 61000.5, "last_updated_at": 1711356300}
    coingecko.prices["ethereum"] = {"usd": 3452.1, "last_updated_at": 1711356290}
    quotes = await connector(coingecko, fake_time).latest_quotes(["BTC/USD", "ETH/USD", "BTC/EUR"])
    by_symbol = {q.symbol: q for q in quotes}
    assert by_symbol["BTC/USD"].bid == by_symbol["BTC/USD"].ask == Decimal("67187.33")
    assert by_symbol["BTC/EUR"].bid == Decimal("61000.5")
    assert by_symbol["ETH/USD"].ts_event == datetime.fromtimestamp(1711356290, UTC)
    request = coingecko.hits("/api/v3/simple/price")[0]
    assert request.headers["x-cg-demo-api-key"] == COINGECKO_KEY
    assert request.query["ids"] == "bitcoin,ethereum"
    assert request.query["include_last_updated_at"] == "true"


async def test_coingecko_keyless_uses_public_api_without_key_header(
    coingecko: FakeCoinGecko, fake_time: FakeTime
) -> None:
    coingecko.key = None
    coingecko.prices["bitcoin"] = {"usd": 67187.33, "last_updated_at": 1711356300}
    quotes = await connector(coingecko, fake_time, key=None).latest_quotes(["BTC/USD"])
    assert len(quotes) == 1
    assert "x-cg-demo-api-key" not in coingecko.hits("/api/v3/simple/price")[0].headers


async def test_coingecko_coin_missing_from_answer_gives_no_quote(
    coingecko: FakeCoinGecko, fake_time: FakeTime
) -> None:
    assert await connector(coingecko, fake_time).latest_quotes(["BTC/USD"]) == []


async def test_coingecko_symbol_without_id_is_refused_before_calling(
    coingecko: FakeCoinGecko, fake_time: FakeTime
) -> None:
    with pytest.raises(ProviderRequestError, match="no CoinGecko id for AAPL"):
        await connector(coingecko, fake_time).latest_quotes(["AAPL"])
    assert coingecko.requests == []


async def test_coingecko_malformed_entry_rejected_non_json_body_malformed(
    coingecko: FakeCoinGecko, fake_time: FakeTime
) -> None:
    coingecko.prices["bitcoin"] = {"usd": 67187.33, "last_updated_at": 1711356300}
    coingecko.prices["ethereum"] = {"usd": "lots", "last_updated_at": 1711356300}
    rejections = RejectionLog()
    con = connector(coingecko, fake_time, rejections=rejections)
    assert [q.symbol for q in await con.latest_quotes(["BTC/USD", "ETH/USD"])] == ["BTC/USD"]
    assert "usd is 'lots'" in rejections.last_reason["coingecko"]
    coingecko.malformed("/api/v3/simple/price", "<html>")
    with pytest.raises(MalformedResponseError, match="not JSON"):
        await con.latest_quotes(["BTC/USD"])


async def test_coingecko_429_retry_after_honoured_then_success(
    coingecko: FakeCoinGecko, fake_time: FakeTime
) -> None:
    coingecko.prices["bitcoin"] = {"usd": 1.5, "last_updated_at": 1711356300}
    coingecko.rate_limit("/api/v3/simple/price", retry_after="5")
    assert len(await connector(coingecko, fake_time).latest_quotes(["BTC"])) == 1
    assert fake_time.sleeps == [5.0]


async def test_coingecko_429_retry_after_too_long_raises_at_once(
    coingecko: FakeCoinGecko, fake_time: FakeTime
) -> None:
    coingecko.rate_limit("/api/v3/simple/price", retry_after="120")
    with pytest.raises(RateLimitedError) as caught:
        await connector(coingecko, fake_time).latest_quotes(["BTC"])
    assert caught.value.retry_after == 120
    assert fake_time.sleeps == []


async def test_coingecko_keyless_budget_is_the_public_rate(
    coingecko: FakeCoinGecko, fake_time: FakeTime
) -> None:
    coingecko.key = None
    coingecko.prices["bitcoin"] = {"usd": 1.5, "last_updated_at": 1711356300}
    con = connector(coingecko, fake_time, key=None, keyless_rate_per_minute=10.0, burst=1)
    for _ in range(3):
        await con.latest_quotes(["BTC"])
    assert fake_time.sleeps == [6.0, 6.0]


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, ProviderAuthError), (500, ProviderUnavailableError), (403, ProviderRequestError)],
)
async def test_coingecko_http_errors_map_to_connector_errors(
    coingecko: FakeCoinGecko, fake_time: FakeTime, status: int, error: type[Exception]
) -> None:
    coingecko.fail("/api/v3/simple/price", status, {"status": {"error_code": status}})
    with pytest.raises(error, match=f"HTTP {status}"):
        await connector(coingecko, fake_time).latest_quotes(["BTC"])


async def test_coingecko_markets_paginated_into_asset_metadata(
    coingecko: FakeCoinGecko, fake_time: FakeTime
) -> None:
    coingecko.markets = [
        market("bitcoin", "btc", "Bitcoin", 67187.33, 1.3e12, 1),
        market("ethereum", "eth", "Ethereum", 3452.1, 4.1e11, 2),
        market("solana", "sol", "Solana", 180.5, 8.0e10, 5),
    ]
    found = await connector(coingecko, fake_time, page_size=2).assets(
        ["BTC/USD", "ETH/USD", "SOL/USD", "AAPL"]
    )
    assert [(a.symbol, a.name, a.asset_class) for a in found] == [
        ("BTC/USD", "Bitcoin", "crypto"),
        ("ETH/USD", "Ethereum", "crypto"),
        ("SOL/USD", "Solana", "crypto"),
    ]
    assert found[0].market_cap == Decimal("1300000000000.0")
    pages = [r.query["page"] for r in coingecko.hits("/api/v3/coins/markets")]
    assert pages == ["1", "2"]


async def test_coingecko_markets_empty_is_empty(
    coingecko: FakeCoinGecko, fake_time: FakeTime
) -> None:
    assert await connector(coingecko, fake_time).assets(["BTC/USD"]) == []


def ohlc_rows(start: datetime, count: int, step: timedelta) -> list[list[float]]:
    """CoinGecko stamps each candle with its close time (ms)."""
    rows = []
    for i in range(count):
        closes = start + step * (i + 1)
        rows.append([closes.timestamp() * 1000, 100 + i, 102 + i, 99 + i, 101 + i])
    return rows


async def test_coingecko_ohlc_half_hours_make_closed_hour_bars(
    coingecko: FakeCoinGecko, fake_time: FakeTime
) -> None:
    day_ago = NOW - timedelta(days=1)
    coingecko.ohlc[("bitcoin", "usd", "1")] = ohlc_rows(day_ago, 48, timedelta(minutes=30))
    bars = await connector(coingecko, fake_time).bars(
        "BTC/USD", "1Hour", NOW - timedelta(hours=3), NOW
    )
    assert [b.ts_open for b in bars] == [NOW - timedelta(hours=h) for h in (3, 2, 1)]
    first = bars[0]
    assert (first.open, first.high, first.low, first.close, first.volume) == (
        Decimal(142),
        Decimal(145),
        Decimal(141),
        Decimal(144),
        Decimal(0),
    )


async def test_coingecko_ohlc_four_hours_make_daily_bars(
    coingecko: FakeCoinGecko, fake_time: FakeTime
) -> None:
    week_ago = datetime(2023, 12, 26, tzinfo=UTC)
    coingecko.ohlc[("bitcoin", "usd", "7")] = ohlc_rows(week_ago, 6 * 7 + 2, timedelta(hours=4))
    bars = await connector(coingecko, fake_time).bars(
        "BTC/USD", "1Day", NOW - timedelta(days=6), NOW
    )
    # Days open at 00:00 UTC; Dec 27 opens before the 15:00 start, Jan 2 is not complete.
    assert [b.ts_open.day for b in bars] == [28, 29, 30, 31, 1]
    assert all(b.ts_event - b.ts_open == timedelta(days=1) for b in bars)


async def test_coingecko_unsupported_timeframes_and_ranges_are_refused(
    coingecko: FakeCoinGecko, fake_time: FakeTime
) -> None:
    con = connector(coingecko, fake_time)
    with pytest.raises(NotSupportedError, match="1Min"):
        await con.bars("BTC/USD", "1Min", NOW - timedelta(hours=1), NOW)
    with pytest.raises(ProviderRequestError, match="last 30 day"):
        await con.bars("BTC/USD", "1Day", NOW - timedelta(days=90), NOW)


async def test_coingecko_bad_ohlc_row_rejected(
    coingecko: FakeCoinGecko, fake_time: FakeTime
) -> None:
    rows = ohlc_rows(NOW - timedelta(days=1), 48, timedelta(minutes=30))
    rows[-1] = [rows[-1][0], "x", 1, 1]
    coingecko.ohlc[("bitcoin", "usd", "1")] = rows
    rejections = RejectionLog()
    bars = await connector(coingecko, fake_time, rejections=rejections).bars(
        "BTC/USD", "1Hour", NOW - timedelta(hours=2), NOW
    )
    assert [b.ts_open for b in bars] == [NOW - timedelta(hours=2)]  # last hour incomplete now
    assert rejections.counts["coingecko"] == 1


async def test_coingecko_has_no_news_or_stream(
    coingecko: FakeCoinGecko, fake_time: FakeTime
) -> None:
    con = connector(coingecko, fake_time)
    with pytest.raises(NotSupportedError):
        await con.news(["BTC/USD"], NOW - timedelta(days=1), NOW)
    with pytest.raises(NotSupportedError):
        async for _ in con.stream(["BTC/USD"]):
            pass
