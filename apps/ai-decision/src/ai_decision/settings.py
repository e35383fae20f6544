"""AI decision settings (env prefix AI_DECISION_). Bad settings fail at startup, naming the
variable and what is wrong with it."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from trader_common.settings import AppSettings

from .domain.commands import Task
from .domain.local_model import MODEL_NAME as LOCAL_MODEL
from .domain.pricing import DEFAULT_PRICES, ModelPrice, PriceTable, UnknownModelPriceError
from .domain.prompt import TemplateRef
from .domain.routing import BudgetPolicy, CircuitPolicy, RoutingPolicy


class PriceSetting(BaseModel):
    """USD per million tokens."""

    model_config = ConfigDict(extra="forbid")

    input: Decimal = Field(ge=0)
    output: Decimal = Field(ge=0)


def _default_templates() -> dict[Task, str]:
    return {task: "decision/v1" for task in Task}


class AiDecisionSettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="AI_DECISION_", extra="ignore")

    app_id: str = "ai-decision"
    port: int = Field(default=8102, ge=1, le=65535)

    # routing and model selection (JSON): chains per task, per-strategy overrides, the fallback
    routing: RoutingPolicy = Field(default_factory=RoutingPolicy)
    model_prices: dict[str, PriceSetting] = Field(default_factory=dict)
    daily_budget_usd: Decimal | None = Field(default=None, ge=0)
    daily_token_budget: int | None = Field(default=None, ge=0)
    budget_downgrade_at: Decimal = Field(default=Decimal("0.8"), gt=0, le=1)
    circuit_failure_threshold: int = Field(default=3, ge=1, le=100)
    circuit_open_seconds: float = Field(default=60.0, gt=0, le=86_400)

    # Claude through the anthropic SDK
    anthropic_api_key: SecretStr | None = None
    anthropic_base_url: str | None = None
    anthropic_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    anthropic_max_retries: int = Field(default=3, ge=0, le=10)
    anthropic_max_retry_wait_seconds: float = Field(default=30.0, ge=0, le=600)
    prompt_caching: bool = True

    # prompts
    prompts_dir: Path | None = None
    prompt_templates: dict[Task, str] = Field(default_factory=_default_templates)

    # features and data fusion
    feature_timeframe: Literal["1Min", "5Min", "15Min", "1Hour", "1Day"] = "1Min"
    feature_max_bars: int = Field(default=300, ge=130, le=5000)
    feature_max_ticks: int = Field(default=50, ge=1, le=1000)
    news_source: Literal["market-data", "none"] = "market-data"
    news_app_id: str = Field(default="market-data", min_length=1)

    max_concurrency: int = Field(default=4, ge=1, le=64)

    @field_validator("prompt_templates")
    @classmethod
    def _templates_parse(cls, value: dict[Task, str]) -> dict[Task, str]:
        for text in value.values():
            TemplateRef.parse(text)
        return {**_default_templates(), **value}

    @model_validator(mode="after")
    def _routing_is_usable(self) -> AiDecisionSettings:
        targets = self.routing.all_targets()
        if any(t.provider == "claude" for t in targets) and self.anthropic_api_key is None:
            raise ValueError(
                "AI_DECISION_ROUTING uses claude but AI_DECISION_ANTHROPIC_API_KEY is not set"
            )
        unknown_local = sorted(
            str(t) for t in targets if t.provider == "local" and t.model != LOCAL_MODEL
        )
        if unknown_local:
            raise ValueError(
                f"AI_DECISION_ROUTING names unknown local models {unknown_local}; "
                f"the local model is local:{LOCAL_MODEL}"
            )
        prices = self.price_table()
        for target in targets:
            try:
                prices.price(target.provider, target.model)
            except UnknownModelPriceError as exc:
                raise ValueError(str(exc)) from None
        return self

    def price_table(self) -> PriceTable:
        merged = dict(DEFAULT_PRICES)
        for model, price in self.model_prices.items():
            merged[model] = ModelPrice(price.input, price.output)
        return PriceTable(merged)

    def budget_policy(self) -> BudgetPolicy:
        return BudgetPolicy(
            self.daily_budget_usd, self.daily_token_budget, self.budget_downgrade_at
        )

    def circuit_policy(self) -> CircuitPolicy:
        return CircuitPolicy(self.circuit_failure_threshold, self.circuit_open_seconds)

    def template_refs(self) -> dict[Task, TemplateRef]:
        return {task: TemplateRef.parse(text) for task, text in self.prompt_templates.items()}
