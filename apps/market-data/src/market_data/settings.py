"""Market data settings (env prefix MARKET_DATA_)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from trader_common.settings import AppSettings


class MarketDataSettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="MARKET_DATA_", extra="ignore")

    app_id: str = "market-data"
    port: int = Field(default=8101, ge=1, le=65535)
    feed: Literal["synthetic", "off"] = "synthetic"
    symbols: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["AAPL", "MSFT", "SPY"])
    interval_seconds: float = Field(default=1.0, gt=0, le=3600)
    seed: int = 7
    start_price: Decimal = Field(default=Decimal("100"), gt=0)

    @field_validator("symbols", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            value = [s.strip().upper() for s in value.split(",") if s.strip()]
        return value

    @field_validator("symbols")
    @classmethod
    def _valid_symbols(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one symbol is needed, e.g. MARKET_DATA_SYMBOLS=AAPL,MSFT")
        bad = [s for s in value if not s.replace(".", "").replace("-", "").isalnum() or len(s) > 32]
        if bad:
            raise ValueError(f"invalid symbols: {', '.join(bad)}")
        return value
