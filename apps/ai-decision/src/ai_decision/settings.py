"""AI decision settings (env prefix AI_DECISION_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from trader_common.settings import AppSettings


class AiDecisionSettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="AI_DECISION_", extra="ignore")

    app_id: str = "ai-decision"
    port: int = Field(default=8102, ge=1, le=65535)
