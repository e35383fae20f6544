"""analytics settings (env prefix ANALYTICS_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from trader_common.settings import AppSettings


class AnalyticsSettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="ANALYTICS_", extra="ignore")

    app_id: str = "analytics"
    port: int = Field(default=8105, ge=1, le=65535)
