"""Trading engine settings (env prefix TRADING_ENGINE_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from trader_common.settings import AppSettings


class TradingEngineSettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="TRADING_ENGINE_", extra="ignore")

    app_id: str = "trading-engine"
    port: int = Field(default=8103, ge=1, le=65535)
    quote_ttl_seconds: int = Field(default=30, ge=1, le=86_400)
