"""API gateway settings (env prefix API_GATEWAY_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from trader_common.settings import AppSettings


class ApiGatewaySettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="API_GATEWAY_", extra="ignore")

    app_id: str = "api-gateway"
    port: int = Field(default=8100, ge=1, le=65535)
    trading_engine_app_id: str = "trading-engine"
    dead_letters_kept: int = Field(default=500, ge=1, le=100_000)
