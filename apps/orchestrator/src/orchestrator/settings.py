"""Orchestrator settings (env prefix ORCHESTRATOR_)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict

from trader_common.settings import AppSettings


class StrategyConfig(BaseModel):
    strategy_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    symbols: list[str] = Field(min_length=1, max_length=200)
    cadence_seconds: int = Field(default=60, ge=5, le=86_400)
    calendar: str = Field(default="24/7", description="Exchange calendar (XNYS…) or 24/7")
    fill_timeout: int = Field(default=30, ge=1, le=3600)

    @property
    def cadence(self) -> timedelta:
        return timedelta(seconds=self.cadence_seconds)


class OrchestratorSettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="ORCHESTRATOR_", extra="ignore")

    app_id: str = "orchestrator"
    port: int = Field(default=8104, ge=1, le=65535)
    trading_engine_app_id: str = "trading-engine"
    ai_decision_app_id: str = "ai-decision"
    # JSON list of strategies, e.g. [{"strategy_id":"momo","symbols":["AAPL"],
    # "cadence_seconds":60,"calendar":"XNYS"}]; none means cycles only on request.
    strategies: list[StrategyConfig] = Field(default_factory=list)
    workflows: bool = Field(
        default=True, description="Run the Dapr Workflow worker (off only in unit tests)"
    )
