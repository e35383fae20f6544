"""Market data settings: environment variables with the prefix ``MARKET_DATA_`` and, when
``MARKET_DATA_CONFIG_FILE`` names one, a YAML file with the same keys (lower case, without the
prefix). Precedence: explicit arguments, then the environment, then the YAML file, then the
defaults. Invalid values stop the service at start with the setting named."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from trader_common.settings import AppSettings

from .domain.coins import DEFAULT_COINGECKO_IDS as DEFAULT_IDS
from .domain.coins import resolve
from .domain.normalise import SYMBOL_PATTERN
from .domain.sessions import Calendar
from .domain.timeframes import Timeframe

SHIPPED_DATA = Path(__file__).with_name("data")
CONFIG_FILE_ENV = "MARKET_DATA_CONFIG_FILE"

FeedName = Literal["synthetic", "replay", "alpaca", "finnhub", "coingecko", "off"]
ConnectorName = Literal["alpaca", "finnhub", "coingecko"]
PROVIDERS: tuple[ConnectorName, ...] = ("alpaca", "finnhub", "coingecko")


def _split(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _check_url(value: str | None, schemes: tuple[str, ...], name: str) -> str | None:
    if value is not None and not value.startswith(schemes):
        raise ValueError(f"{name} must start with {' or '.join(schemes)}, got {value!r}")
    return value


class MarketDataSettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="MARKET_DATA_", extra="ignore")

    app_id: str = "market-data"
    port: int = Field(default=8101, ge=1, le=65535)

    # --- what to publish --------------------------------------------------------------------
    feed: FeedName = "synthetic"
    symbols: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["AAPL", "MSFT", "SPY"])
    interval_seconds: float = Field(default=1.0, gt=0, le=3600)
    connectors: Annotated[list[ConnectorName], NoDecode] = Field(default_factory=list)

    # --- synthetic ----------------------------------------------------------------------------
    seed: int = 7
    start_price: Decimal = Field(default=Decimal("100"), gt=0)
    synthetic_spread_bps: float = Field(default=5.0, gt=0, le=1000)
    # Bars of the recent past published at start (0: none), so the strategies that need a
    # history (the local model: 21 one-minute bars) trade from the first cycles.
    synthetic_history_minutes: int = Field(default=30, ge=0, le=1440)

    # --- replay -------------------------------------------------------------------------------
    replay_path: Path = SHIPPED_DATA
    replay_speed: float = Field(default=0.0, ge=0, le=1e9)
    replay_timeframe: Timeframe | None = None
    replay_calendar: Calendar = "us-equity"
    replay_start: AwareDatetime | None = None
    replay_end: AwareDatetime | None = None
    replay_quotes: bool = True
    replay_spread_bps: Decimal = Field(default=Decimal("5"), gt=0, le=1000)

    # --- cache and resilience ---------------------------------------------------------------
    secret_store: str = Field(default="secretstore", min_length=1)
    cache_ttl_seconds: int = Field(default=30, ge=1, le=86400)
    breaker_failures: int = Field(default=5, ge=1, le=1000)
    breaker_cooldown_seconds: float = Field(default=30.0, gt=0, le=3600)
    call_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    provider_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    max_429_retries: int = Field(default=3, ge=0, le=20)
    max_retry_after_seconds: float = Field(default=30.0, ge=0, le=3600)

    # --- providers ----------------------------------------------------------------------------
    alpaca_data_url: str = "https://data.alpaca.markets"
    alpaca_trading_url: str = "https://paper-api.alpaca.markets"
    alpaca_stream_url: str | None = None
    alpaca_crypto_stream_url: str | None = None
    alpaca_feed: Literal["iex", "sip", "delayed_sip"] = "iex"
    alpaca_stream: bool = True
    alpaca_rate_per_minute: float = Field(default=200.0, gt=0, le=100_000)
    finnhub_url: str = "https://api.finnhub.io/api/v1"
    finnhub_rate_per_minute: float = Field(default=60.0, gt=0, le=100_000)
    coingecko_url: str | None = None
    coingecko_plan: Literal["public", "demo", "pro"] = "demo"
    coingecko_rate_per_minute: float = Field(default=30.0, gt=0, le=100_000)
    coingecko_ids: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=lambda: dict(DEFAULT_IDS)
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [
            init_settings,
            env_settings,
            dotenv_settings,
            file_secret_settings,
        ]
        config_file = os.environ.get(CONFIG_FILE_ENV)
        if config_file:
            path = Path(config_file)
            if not path.is_file():
                raise ValueError(f"{CONFIG_FILE_ENV}={config_file}: no such file")
            sources.insert(2, YamlConfigSettingsSource(settings_cls, yaml_file=path))
        return tuple(sources)

    @field_validator("symbols", mode="before")
    @classmethod
    def _split_symbols(cls, value: object) -> object:
        value = _split(value)
        if isinstance(value, list):
            value = [s.strip().upper() if isinstance(s, str) else s for s in value]
        return value

    @field_validator("symbols")
    @classmethod
    def _valid_symbols(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one symbol is needed, e.g. MARKET_DATA_SYMBOLS=AAPL,MSFT")
        bad = [s for s in value if not SYMBOL_PATTERN.match(s)]
        if bad:
            raise ValueError(
                f"invalid symbols: {', '.join(bad)} (upper-case letters, digits and . / : -, "
                "at most 32 characters)"
            )
        return list(dict.fromkeys(value))

    @field_validator("connectors", mode="before")
    @classmethod
    def _split_connectors(cls, value: object) -> object:
        value = _split(value)
        if isinstance(value, list):
            value = [s.strip().lower() if isinstance(s, str) else s for s in value]
        return value

    @field_validator("coingecko_ids", mode="before")
    @classmethod
    def _parse_ids(cls, value: object) -> object:
        """``BTC=bitcoin,ETH=ethereum`` (or a mapping), added to the built-in ids."""
        if isinstance(value, str):
            parsed: dict[str, str] = {}
            for part in value.split(","):
                if not part.strip():
                    continue
                base, sep, coin = part.partition("=")
                if not sep or not base.strip() or not coin.strip():
                    raise ValueError(f"{part.strip()!r} is not BASE=coin-id (e.g. BTC=bitcoin)")
                parsed[base.strip().upper()] = coin.strip().lower()
            value = parsed
        if isinstance(value, dict):
            return {**DEFAULT_IDS, **{str(k).upper(): v for k, v in value.items()}}
        return value

    @field_validator("alpaca_data_url", "alpaca_trading_url", "finnhub_url", "coingecko_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return _check_url(value, ("http://", "https://"), "provider URL")

    @field_validator("alpaca_stream_url", "alpaca_crypto_stream_url")
    @classmethod
    def _ws_url(cls, value: str | None) -> str | None:
        return _check_url(value, ("ws://", "wss://"), "stream URL")

    @model_validator(mode="after")
    def _consistent(self) -> MarketDataSettings:
        if self.feed == "replay" and not self.replay_path.exists():
            raise ValueError(f"replay_path {self.replay_path} does not exist")
        if self.replay_start and self.replay_end and self.replay_start >= self.replay_end:
            raise ValueError("replay_start must be before replay_end")
        if self.feed == "coingecko":
            unknown = [s for s in self.symbols if resolve(s, self.coingecko_ids) is None]
            if unknown:
                raise ValueError(
                    f"no CoinGecko id for {', '.join(unknown)}; map base assets with "
                    "MARKET_DATA_COINGECKO_IDS=BTC=bitcoin,..."
                )
        if self.feed == "alpaca" and self.alpaca_stream and self.alpaca_feed == "delayed_sip":
            raise ValueError("the Alpaca stream serves iex or sip, not delayed_sip")
        return self

    def provider_connectors(self) -> list[ConnectorName]:
        """The feed's provider (if it is one) and the extra connectors, without repeats."""
        names: list[ConnectorName] = []
        if self.feed in PROVIDERS:
            names.append(self.feed)
        names.extend(c for c in self.connectors if c not in names)
        return names
