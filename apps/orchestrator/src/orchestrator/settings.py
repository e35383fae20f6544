"""Orchestrator settings (env prefix ORCHESTRATOR_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from trader_common.settings import AppSettings


class OrchestratorSettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="ORCHESTRATOR_", extra="ignore")

    app_id: str = "orchestrator"
    port: int = Field(default=8104, ge=1, le=65535)
    trading_engine_app_id: str = "trading-engine"
    ai_decision_app_id: str = "ai-decision"
    workflows: bool = Field(
        default=True, description="Run the Dapr Workflow worker (off only in unit tests)"
    )
