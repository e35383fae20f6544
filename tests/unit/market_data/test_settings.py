"""Settings: defaults, environment, the YAML file, and clear errors at start."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from market_data.settings import CONFIG_FILE_ENV, SHIPPED_DATA, MarketDataSettings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("MARKET_DATA_"):
            monkeypatch.delenv(name)


def test_settings_defaults_run_offline_synthetic() -> None:
    settings = MarketDataSettings()
    assert settings.feed == "synthetic"
    assert settings.symbols == ["AAPL", "MSFT", "SPY"]
    assert settings.cache_ttl_seconds == 30
    assert settings.replay_path == SHIPPED_DATA
    assert settings.provider_connectors() == []


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARKET_DATA_FEED", "replay")
    monkeypatch.setenv("MARKET_DATA_SYMBOLS", "goog, eur/usd,GOOG")
    monkeypatch.setenv("MARKET_DATA_REPLAY_SPEED", "60")
    monkeypatch.setenv("MARKET_DATA_CONNECTORS", "Finnhub,coingecko")
    monkeypatch.setenv("MARKET_DATA_COINGECKO_IDS", "PEPE=pepe")
    settings = MarketDataSettings()
    assert settings.symbols == ["GOOG", "EUR/USD"]
    assert settings.replay_speed == 60
    assert settings.provider_connectors() == ["finnhub", "coingecko"]
    assert settings.coingecko_ids["PEPE"] == "pepe"
    assert settings.coingecko_ids["BTC"] == "bitcoin"


def test_settings_feed_provider_comes_first_without_repeats() -> None:
    settings = MarketDataSettings(feed="finnhub", connectors=["coingecko", "finnhub"])
    assert settings.provider_connectors() == ["finnhub", "coingecko"]


def test_settings_yaml_file_below_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "market-data.yaml"
    config.write_text("feed: replay\nsymbols: [GOOG]\nreplay_speed: 3600\ninterval_seconds: 5\n")
    monkeypatch.setenv(CONFIG_FILE_ENV, str(config))
    monkeypatch.setenv("MARKET_DATA_INTERVAL_SECONDS", "2")
    settings = MarketDataSettings()
    assert (settings.feed, settings.symbols, settings.replay_speed) == ("replay", ["GOOG"], 3600)
    assert settings.interval_seconds == 2


def test_settings_missing_yaml_file_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CONFIG_FILE_ENV, "/nonexistent/market-data.yaml")
    with pytest.raises(ValueError, match="MARKET_DATA_CONFIG_FILE=/nonexistent"):
        MarketDataSettings()


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"feed": "bloomberg"}, "feed"),
        ({"symbols": ""}, "at least one symbol"),
        ({"symbols": "AAPL,BAD SYMBOL"}, "invalid symbols: BAD SYMBOL"),
        ({"interval_seconds": 0}, "interval_seconds"),
        ({"replay_speed": -1}, "replay_speed"),
        ({"feed": "replay", "replay_path": "/nonexistent"}, "replay_path /nonexistent"),
        ({"feed": "coingecko", "symbols": "AAPL"}, "no CoinGecko id for AAPL"),
        ({"coingecko_ids": "BTC"}, "BASE=coin-id"),
        ({"connectors": "alpaca,bloomberg"}, "connectors"),
        ({"alpaca_data_url": "data.alpaca.markets"}, "must start with http"),
        ({"alpaca_stream_url": "http://x"}, "must start with ws"),
        ({"feed": "alpaca", "alpaca_feed": "delayed_sip"}, "iex or sip"),
        ({"cache_ttl_seconds": 0}, "cache_ttl_seconds"),
        (
            {"replay_start": "2020-01-02T00:00:00Z", "replay_end": "2020-01-01T00:00:00Z"},
            "replay_start must be before",
        ),
        ({"replay_start": "2020-01-02T00:00:00"}, "timezone"),
    ],
)
def test_settings_invalid_values_fail_with_the_setting_named(
    overrides: dict[str, object], named: str
) -> None:
    with pytest.raises(ValidationError, match=named):
        MarketDataSettings(**overrides)


def test_settings_shipped_example_config_file_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    example = Path(__file__).parents[3] / "apps/market-data/config/market-data.example.yaml"
    monkeypatch.setenv(CONFIG_FILE_ENV, str(example))
    settings = MarketDataSettings()
    assert (settings.feed, settings.symbols, settings.replay_speed) == ("replay", ["GOOG"], 86400)
