"""AI decision settings (env prefix AI_DECISION_). Bad settings fail at startup, naming the
variable and what is wrong with it."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from trader_common.settings import AppSettings

from .domain import local_model, sma_cross
from .domain.commands import Task
from .domain.pricing import DEFAULT_PRICES, ModelPrice, PriceTable, UnknownModelPriceError
from .domain.prompt import TemplateRef
from .domain.routing import BudgetPolicy, CircuitPolicy, RoutingPolicy, Target

LOCAL_MODELS = (local_model.MODEL_NAME, sma_cross.MODEL_NAME)
CLAUDE_ROUTING = RoutingPolicy.model_validate(
    {
        "tasks": {
            "fast": ["claude:claude-haiku-4-5"],
            "deep": ["claude:claude-sonnet-4-5"],
            "overnight": ["claude:claude-sonnet-4-5"],
        }
    }
)


class PriceSetting(BaseModel):
    """USD per million tokens."""

    model_config = ConfigDict(extra="forbid")

    input: Decimal = Field(ge=0)
    output: Decimal = Field(ge=0)


def _default_templates() -> dict[Task, str]:
    return {task: "decision/v1" for task in Task}


def _default_recent_bars() -> dict[Task, int]:
    return {Task.FAST: 5, Task.DEEP: 30, Task.OVERNIGHT: 30}


class SmaCrossSetting(BaseModel):
    """Parameters of the local sma-cross model (``local:sma-cross-v1``)."""

    model_config = ConfigDict(extra="forbid")

    fast: int = Field(default=10, ge=1, le=1000)
    slow: int = Field(default=30, ge=2, le=1000)
    quantity: Decimal = Field(default=Decimal(100), gt=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _slow_after_fast(self) -> SmaCrossSetting:
        if self.slow <= self.fast:
            raise ValueError(f"slow ({self.slow}) must be longer than fast ({self.fast})")
        return self

    def params(self) -> sma_cross.SmaCrossParams:
        return sma_cross.SmaCrossParams(self.fast, self.slow, self.quantity)


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
    # Without AI_DECISION_ANTHROPIC_API_KEY the key is read at start from this secret of the Dapr
    # secret store (empty: do not look). With a key and no AI_DECISION_ROUTING, Claude decides.
    anthropic_key_secret: str = Field(default="anthropic:api-key", max_length=200)
    secret_store: str = Field(default="secretstore", min_length=1)
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
    # closed bars each task's context carries (and its prompt shows)
    recent_bars: dict[Task, int] = Field(default_factory=_default_recent_bars)

    # the local sma-cross model
    sma_cross: SmaCrossSetting = Field(default_factory=SmaCrossSetting)

    max_concurrency: int = Field(default=4, ge=1, le=64)

    @field_validator("prompt_templates")
    @classmethod
    def _templates_parse(cls, value: dict[Task, str]) -> dict[Task, str]:
        for text in value.values():
            TemplateRef.parse(text)
        return {**_default_templates(), **value}

    @field_validator("recent_bars")
    @classmethod
    def _recent_bars_in_range(cls, value: dict[Task, int]) -> dict[Task, int]:
        for task, n in value.items():
            if not 0 <= n <= 5000:
                raise ValueError(f"recent_bars for {task} must be within 0..5000, got {n}")
        return {**_default_recent_bars(), **value}

    @model_validator(mode="after")
    def _routing_is_usable(self) -> AiDecisionSettings:
        targets = self.routing.all_targets()
        claude_routed = any(t.provider == "claude" for t in targets)
        if claude_routed and self.anthropic_api_key is None and not self.anthropic_key_secret:
            raise ValueError(
                "AI_DECISION_ROUTING uses claude but AI_DECISION_ANTHROPIC_API_KEY is not set "
                "(and AI_DECISION_ANTHROPIC_KEY_SECRET is empty, so the secret store is not asked)"
            )
        unknown_local = sorted(
            str(t) for t in targets if t.provider == "local" and t.model not in LOCAL_MODELS
        )
        if unknown_local:
            raise ValueError(
                f"AI_DECISION_ROUTING names unknown local models {unknown_local}; "
                f"the local models are {', '.join('local:' + m for m in LOCAL_MODELS)}"
            )
        sma = Target("local", sma_cross.MODEL_NAME)
        needed = self.sma_cross.slow + 1
        for task in Task:
            uses_sma = sma in self.routing.chain("", task) or any(
                sma in self.routing.chain(strategy, task) for strategy in self.routing.strategies
            )
            bars = self.recent_bars[task]
            if uses_sma and bars < needed:
                raise ValueError(
                    f"AI_DECISION_RECENT_BARS gives the {task} task {bars} bars, but "
                    f"local:{sma_cross.MODEL_NAME} routed there needs at least {needed} "
                    f"(slow {self.sma_cross.slow} + 1)"
                )
            if bars > self.feature_max_bars:
                raise ValueError(
                    f"AI_DECISION_RECENT_BARS gives the {task} task {bars} bars, more than the "
                    f"feature store keeps (AI_DECISION_FEATURE_MAX_BARS={self.feature_max_bars})"
                )
        prices = self.price_table()
        for target in targets:
            try:
                prices.price(target.provider, target.model)
            except UnknownModelPriceError as exc:
                raise ValueError(str(exc)) from None
        return self

    def routing_with_key(self) -> RoutingPolicy:
        """The routing once an Anthropic key is known: the configured one, or, when none was
        configured, Claude (Haiku for fast screening, Sonnet for deep analysis) with the local
        model as the fallback."""
        if "routing" in self.model_fields_set:
            return self.routing
        return CLAUDE_ROUTING

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
