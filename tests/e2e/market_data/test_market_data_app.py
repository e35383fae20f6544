"""The market-data app in its own process with its real daprd, on the real broker and state
store, against a recording subscriber (with its own daprd) and the external providers' fakes:
bulk publish keyed by symbol, the TTL cache behind the read API, keys from the real secret
store, malformed provider records never published, and one provider down while another
serves."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.fakes.alpaca_data import FakeAlpacaData
from tests.fakes.alpaca_stream import FakeAlpacaStream
from tests.fakes.coingecko_api import FakeCoinGecko
from tests.fakes.finnhub_api import FakeFinnhub, quote
from tests.support.platform import (
    MARKET_TOPIC,
    SYSTEM_TOPIC,
    Recorder,
    eventually,
    start_market_data,
    start_recorder,
)
from trader_cli.runfile import Profile

from .conftest import COINGECKO_KEY, FINNHUB_TOKEN, SECRETS, Served

pytestmark = pytest.mark.e2e

NOW_TS = int(datetime(2024, 1, 2, 16, tzinfo=UTC).timestamp())
QUOTE = "ai.active-trader.market.quote.v1"
TRADE = "ai.active-trader.market.trade.v1"
HEALTH = "ai.active-trader.system.connector-health-changed.v1"
FAST = {
    "MARKET_DATA_INTERVAL_SECONDS": "0.2",
    "MARKET_DATA_FINNHUB_RATE_PER_MINUTE": "60000",
    "MARKET_DATA_COINGECKO_RATE_PER_MINUTE": "60000",
    "MARKET_DATA_ALPACA_RATE_PER_MINUTE": "60000",
}


def tag() -> str:
    """A symbol suffix of this test's own: the session's brokers and state store are shared,
    and the cache keeps a symbol's quote for 30 s."""
    return uuid4().hex[:6].upper()


def from_market_data(recorder: Recorder, topic: str, kind: str) -> list[dict[str, Any]]:
    return [
        e for e in recorder.received(topic) if e["type"] == kind and e["source"] == "/market-data"
    ]


def redis_ttl_ms(port: int, key: str) -> int:
    answer = subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "-p", str(port), "PTTL", key],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    return int(answer.stdout.strip())


def test_app_synthetic_bulk_publishes_keyed_by_symbol_and_caches_with_ttl(
    platform_factory: Callable[..., Any], servers: Any
) -> None:
    t = tag()
    symbols = (f"S{t}A", f"S{t}B", f"X{t}/USD")
    # Kafka: the one broker that hands the message key to the subscriber (``__key``).
    platform = platform_factory([], profile=Profile(pubsub="kafka", state="redis"))
    recorder = start_recorder(platform)
    market = start_market_data(platform, {**FAST, "MARKET_DATA_SYMBOLS": ",".join(symbols)})

    def every_symbol_several_times() -> list[dict[str, Any]]:
        got = from_market_data(recorder, MARKET_TOPIC, QUOTE)
        counts = {s: sum(e["data"]["symbol"] == s for e in got) for s in symbols}
        return got if min(counts.values()) >= 3 else []

    quotes = eventually(every_symbol_several_times, what="quotes of every symbol")
    assert all(e["broker_key"] == e["data"]["symbol"] for e in quotes)
    assert all(e["partitionkey"] == e["data"]["symbol"] for e in quotes)
    for symbol in symbols:
        times = [e["data"]["ts_event"] for e in quotes if e["data"]["symbol"] == symbol]
        assert times == sorted(times) and len(set(times)) == len(times), symbol

    latest = httpx.get(f"{market.url}/quotes/X{t}/USD/latest")
    assert latest.status_code == 200
    assert latest.json()["served_from"] == "cache"
    assert latest.json()["quote"]["symbol"] == f"X{t}/USD"
    # The entry is in the real state store (read back through daprd) and expires (Redis TTL).
    entry = httpx.get(f"{market.sidecar_url}/v1.0/state/statestore/quote:X{t}_USD")
    assert entry.status_code == 200
    assert entry.json()["symbol"] == f"X{t}/USD"
    ttl = redis_ttl_ms(servers.get("redis").port, f"market-data||quote:X{t}_USD")
    assert 0 < ttl <= 30_000
    ready = httpx.get(f"{market.url}/readyz")
    assert ready.status_code == 200
    assert ready.json()["connectors"] == {"synthetic": "healthy"}


def test_app_finnhub_feed_reads_key_from_secret_store_and_never_publishes_malformed(
    finnhub: Served[FakeFinnhub], platform_factory: Callable[..., Any]
) -> None:
    good, bad = f"F{tag()}A", f"F{tag()}B"
    finnhub.fake.quotes[good] = quote(185.64, NOW_TS)
    finnhub.fake.quotes[bad] = {"c": "n/a", "t": NOW_TS}
    platform = platform_factory([], secrets=SECRETS)
    recorder = start_recorder(platform)
    market = start_market_data(
        platform,
        {
            **FAST,
            "MARKET_DATA_FEED": "finnhub",
            "MARKET_DATA_SYMBOLS": f"{good},{bad}",
            "MARKET_DATA_FINNHUB_URL": f"{finnhub.url}/api/v1",
        },
    )

    eventually(lambda: from_market_data(recorder, MARKET_TOPIC, QUOTE), what="the good quote")
    polled = len(finnhub.fake.hits("/api/v1/quote"))
    eventually(
        lambda: len(finnhub.fake.hits("/api/v1/quote")) >= polled + 4,
        what="two more polls of both symbols",
    )
    connectors = httpx.get(f"{market.url}/connectors").json()["connectors"]

    published = from_market_data(recorder, MARKET_TOPIC, QUOTE)
    assert [e["data"]["symbol"] for e in published] == [good]  # repeats are duplicates
    assert published[0]["data"]["bid"] == "185.64"
    assert published[0]["data"]["source"] == "finnhub"
    assert all(h.query["token"] == FINNHUB_TOKEN for h in finnhub.fake.hits("/api/v1/quote"))
    (status,) = connectors
    assert status["name"] == "finnhub"
    assert status["health"] == "healthy"
    assert status["rejected"] >= 1
    assert "c is 'n/a'" in status["last_rejection"]


def test_app_one_provider_down_reports_health_and_others_keep_serving(
    finnhub: Served[FakeFinnhub],
    coingecko: Served[FakeCoinGecko],
    platform_factory: Callable[..., Any],
) -> None:
    t = tag()
    stock, coin = f"D{t}", f"C{t}/USD"
    coingecko.fake.prices["bitcoin"] = {"usd": 67187.33, "last_updated_at": 1711356300}
    platform = platform_factory([], secrets=SECRETS)
    recorder = start_recorder(platform, [MARKET_TOPIC, SYSTEM_TOPIC])
    market = start_market_data(
        platform,
        {
            **FAST,
            "MARKET_DATA_FEED": "finnhub",
            "MARKET_DATA_CONNECTORS": "coingecko",
            "MARKET_DATA_SYMBOLS": stock,
            "MARKET_DATA_COINGECKO_IDS": f"C{t}=bitcoin",
            "MARKET_DATA_BREAKER_FAILURES": "2",
            "MARKET_DATA_BREAKER_COOLDOWN_SECONDS": "600",
            "MARKET_DATA_FINNHUB_URL": f"{finnhub.url}/api/v1",
            "MARKET_DATA_COINGECKO_URL": f"{coingecko.url}/api/v3",
        },
    )
    # Finnhub answers (no quote for the symbol: its all-zero answer) until the app is up, then
    # fails.
    eventually(
        lambda: (
            finnhub.fake.hits("/api/v1/quote")
            and httpx.get(f"{market.url}/readyz").json()["connectors"]
            == {"finnhub": "healthy", "coingecko": "healthy"}
        ),
        what="finnhub polled and healthy",
    )
    failing_since = datetime.now(UTC)
    finnhub.fake.fail("/api/v1/quote", 503, {"error": "maintenance"}, times=10_000)

    def health_changes() -> list[dict[str, Any]]:
        return [
            e["data"]
            for e in from_market_data(recorder, SYSTEM_TOPIC, HEALTH)
            if datetime.fromisoformat(e["data"]["ts_event"]) >= failing_since
        ]

    eventually(
        lambda: any(c["current"] == "down" for c in health_changes()),
        what="finnhub reported down on system.events",
    )
    ready = httpx.get(f"{market.url}/readyz")
    coin_quote = httpx.get(f"{market.url}/quotes/{coin}/latest")
    stock_quote = httpx.get(f"{market.url}/quotes/{stock}/latest")
    (finnhub_status,) = [
        c
        for c in httpx.get(f"{market.url}/connectors").json()["connectors"]
        if c["name"] == "finnhub"
    ]

    changes = health_changes()
    assert [(c["service"], c["connector"], c["previous"], c["current"]) for c in changes] == [
        ("market-data", "finnhub", "healthy", "degraded"),
        ("market-data", "finnhub", "degraded", "down"),
    ]
    assert "HTTP 503" in changes[-1]["detail"]
    assert {e["partitionkey"] for e in from_market_data(recorder, SYSTEM_TOPIC, HEALTH)} == {
        "market-data"
    }
    assert ready.status_code == 200
    assert ready.json()["connectors"] == {"finnhub": "down", "coingecko": "healthy"}
    assert ready.json()["degraded"] == ["finnhub"]
    assert finnhub_status["health"] == "down"
    assert finnhub_status["breaker"] == "open"
    assert "HTTP 503" in finnhub_status["last_error"]
    assert coin_quote.status_code == 200
    assert coin_quote.json()["served_from"] == "coingecko"
    assert coin_quote.json()["quote"]["bid"] == "67187.33"
    assert coingecko.fake.hits("/api/v3/simple/price")[0].headers["x-cg-demo-api-key"] == (
        COINGECKO_KEY
    )
    assert stock_quote.status_code == 503
    assert "circuit open" in stock_quote.text


def test_app_alpaca_stream_feed_publishes_stream_events(
    alpaca: Served[FakeAlpacaData],
    alpaca_stream: Served[FakeAlpacaStream],
    platform_factory: Callable[..., Any],
) -> None:
    at = datetime(2024, 1, 2, 15, 4, 5, tzinfo=UTC)
    symbol = f"A{tag()}"
    alpaca_stream.fake.frames = [
        [{"T": "q", "S": symbol, "bp": 187.1, "bs": 2, "ap": 187.3, "as": 3, "t": at}],
        [{"T": "t", "S": symbol, "p": 187.2, "s": 100, "t": at, "i": 9, "x": "V"}],
    ]
    platform = platform_factory([], secrets=SECRETS)
    recorder = start_recorder(platform)
    market = start_market_data(
        platform,
        {
            **FAST,
            "MARKET_DATA_FEED": "alpaca",
            "MARKET_DATA_SYMBOLS": symbol,
            "MARKET_DATA_ALPACA_DATA_URL": alpaca.url,
            "MARKET_DATA_ALPACA_TRADING_URL": alpaca.url,
            "MARKET_DATA_ALPACA_STREAM_URL": alpaca_stream.url,
        },
    )

    trades = eventually(
        lambda: from_market_data(recorder, MARKET_TOPIC, TRADE), what="the streamed trade"
    )
    quotes = from_market_data(recorder, MARKET_TOPIC, QUOTE)
    latest = httpx.get(f"{market.url}/quotes/{symbol}/latest").json()

    assert [(e["data"]["symbol"], e["data"]["price"]) for e in trades] == [(symbol, "187.2")]
    assert [(e["data"]["symbol"], e["data"]["ask"]) for e in quotes] == [(symbol, "187.3")]
    assert latest["served_from"] == "cache"
    assert latest["quote"]["ask"] == "187.3"
    # The fake accepts a subscription only after an auth frame with the keys it was given:
    # the keys came from the real secret store.
    assert alpaca_stream.fake.subscriptions
    assert alpaca_stream.fake.subscriptions[0]["quotes"] == [symbol]
