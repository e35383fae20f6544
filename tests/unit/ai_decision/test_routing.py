"""LLM routing: per strategy, per task, by budget (downgrade, then fall back), by health."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from ai_decision.domain.commands import Task
from ai_decision.domain.pricing import DEFAULT_PRICES, PriceTable, TokenUsage
from ai_decision.domain.routing import (
    BudgetLevel,
    BudgetPolicy,
    BudgetState,
    CircuitPolicy,
    CircuitState,
    RoutingPolicy,
    Target,
    plan_route,
)
from ai_decision.service.routing import Router
from ai_decision.settings import AiDecisionSettings
from trader_common.adapters.inprocess import InMemoryStateStore

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
PRICES = PriceTable(DEFAULT_PRICES)
HAIKU = Target("claude", "claude-haiku-4-5")
SONNET = Target("claude", "claude-sonnet-4-6")
OPUS = Target("claude", "claude-opus-4-6")
LOCAL = Target("local", "ensemble-v1")

POLICY = RoutingPolicy(
    tasks={Task.FAST: [str(HAIKU)], Task.DEEP: [str(SONNET), str(HAIKU)]},
    strategies={"special": {Task.DEEP: [str(OPUS)]}},
)


def test_routing_chain_by_task_ends_with_the_fallback() -> None:
    assert POLICY.chain("any", Task.FAST) == [HAIKU, LOCAL]
    assert POLICY.chain("any", Task.DEEP) == [SONNET, HAIKU, LOCAL]


def test_routing_chain_per_strategy_override() -> None:
    assert POLICY.chain("special", Task.DEEP) == [OPUS, LOCAL]
    assert POLICY.chain("special", Task.FAST) == [HAIKU, LOCAL]


def test_routing_chain_overnight_defaults_to_deep() -> None:
    assert POLICY.chain("any", Task.OVERNIGHT) == [SONNET, HAIKU, LOCAL]


def test_routing_default_policy_is_local_only() -> None:
    assert RoutingPolicy().chain("any", Task.DEEP) == [LOCAL]


@pytest.mark.parametrize("bad", ["claude", "openai:gpt", ":x"])
def test_routing_bad_target_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError):
        RoutingPolicy(tasks={Task.FAST: [bad]})


def test_budget_levels_by_cost_and_tokens() -> None:
    policy = BudgetPolicy(daily_usd=Decimal("10"), daily_tokens=1_000_000)
    day = NOW.date()
    assert BudgetState(day, Decimal("1"), 1000).level(policy) == BudgetLevel.OK
    assert BudgetState(day, Decimal("8"), 1000).level(policy) == BudgetLevel.DOWNGRADE
    assert BudgetState(day, Decimal("1"), 900_000).level(policy) == BudgetLevel.DOWNGRADE
    assert BudgetState(day, Decimal("10"), 0).level(policy) == BudgetLevel.EXHAUSTED
    assert BudgetState(day, Decimal("0"), 2_000_000).level(policy) == BudgetLevel.EXHAUSTED
    assert BudgetState(day, Decimal("1e9")).level(BudgetPolicy()) == BudgetLevel.OK


def plan(
    level: BudgetLevel,
    circuits: dict[Target, CircuitState] | None = None,
    chain: list[Target] | None = None,
) -> list[Target]:
    result = plan_route(
        chain or [SONNET, HAIKU, LOCAL], level, circuits or {}, NOW, PRICES, CircuitPolicy()
    )
    return list(result.candidates)


def test_plan_budget_ok_tries_the_whole_chain() -> None:
    assert plan(BudgetLevel.OK) == [SONNET, HAIKU, LOCAL]


def test_plan_budget_downgrade_skips_the_primary() -> None:
    assert plan(BudgetLevel.DOWNGRADE) == [HAIKU, LOCAL]


def test_plan_budget_exhausted_falls_back_to_free_models() -> None:
    result = plan_route(
        [SONNET, HAIKU, LOCAL], BudgetLevel.EXHAUSTED, {}, NOW, PRICES, CircuitPolicy()
    )
    assert list(result.candidates) == [LOCAL]
    assert [why for _, why in result.skipped] == ["daily budget spent"] * 2


def test_plan_open_circuit_is_skipped_with_its_reason() -> None:
    broken = CircuitState(failures=3, opened_at=NOW - timedelta(seconds=5), last_error="overloaded")
    result = plan_route(
        [SONNET, HAIKU, LOCAL],
        BudgetLevel.OK,
        {SONNET: broken},
        NOW,
        PRICES,
        CircuitPolicy(open_seconds=60),
    )
    assert list(result.candidates) == [HAIKU, LOCAL]
    assert "circuit open after 3 failures: overloaded" in result.skipped[0][1]


def test_circuit_opens_after_threshold_then_half_opens_then_closes() -> None:
    policy = CircuitPolicy(failure_threshold=3, open_seconds=60)
    state = CircuitState()
    for _ in range(2):
        state = state.failed(NOW, policy, "boom")
        assert state.status(NOW, policy) == "closed"
    state = state.failed(NOW, policy, "boom")
    assert state.status(NOW, policy) == "open"
    assert not state.allows(NOW + timedelta(seconds=59), policy)
    assert state.status(NOW + timedelta(seconds=60), policy) == "half-open"
    assert state.succeeded().status(NOW, policy) == "closed"


def test_circuit_failed_half_open_trial_reopens_at_once() -> None:
    policy = CircuitPolicy(failure_threshold=3, open_seconds=60)
    opened = CircuitState(failures=3, opened_at=NOW)
    later = NOW + timedelta(seconds=61)
    reopened = opened.failed(later, policy, "still down")
    assert reopened.status(later, policy) == "open"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def router(state: InMemoryStateStore, clock: Clock, daily_usd: str | None = "1") -> Router:
    return Router(
        state,
        POLICY,
        BudgetPolicy(daily_usd=None if daily_usd is None else Decimal(daily_usd)),
        CircuitPolicy(failure_threshold=2, open_seconds=30),
        PRICES,
        clock,
    )


async def test_router_budget_lives_in_the_state_store_across_processes() -> None:
    state, clock = InMemoryStateStore(), Clock(NOW)
    first = router(state, clock)
    await first.record_success(SONNET, Decimal("0.85"), TokenUsage(1000, 100))
    # a new process (another replica, or woken from zero) sees the same spend
    second = router(state, clock)
    assert (await second.budget_today()).spent_usd == Decimal("0.85")
    assert list((await second.plan("any", Task.DEEP)).candidates) == [HAIKU, LOCAL]
    await second.record_success(HAIKU, Decimal("0.20"), TokenUsage(1000, 100))
    assert list((await first.plan("any", Task.DEEP)).candidates) == [LOCAL]


async def test_router_budget_resets_on_a_new_utc_day() -> None:
    state, clock = InMemoryStateStore(), Clock(NOW)
    r = router(state, clock)
    await r.record_success(SONNET, Decimal("5"), TokenUsage(1, 1))
    clock.now = NOW + timedelta(days=1)
    assert (await r.budget_today()) == BudgetState(day=date(2026, 3, 3))
    assert list((await r.plan("any", Task.DEEP)).candidates) == [SONNET, HAIKU, LOCAL]


async def test_router_free_model_does_not_spend_budget() -> None:
    state, clock = InMemoryStateStore(), Clock(NOW)
    r = router(state, clock)
    await r.record_success(LOCAL, Decimal("0"), TokenUsage())
    assert (await r.budget_today()).calls == 0


async def test_router_repeated_failures_open_the_circuit_for_every_process() -> None:
    state, clock = InMemoryStateStore(), Clock(NOW)
    a, b = router(state, clock, None), router(state, clock, None)
    await a.record_failure(SONNET, "overloaded_error")
    await b.record_failure(SONNET, "overloaded_error")
    assert list((await a.plan("any", Task.DEEP)).candidates) == [HAIKU, LOCAL]
    clock.now = NOW + timedelta(seconds=31)  # half-open: one trial allowed
    assert (await b.plan("any", Task.DEEP)).candidates[0] == SONNET
    await b.record_success(SONNET, Decimal("0.01"), TokenUsage(1, 1))
    assert (await a.circuit(SONNET)) == CircuitState()


async def test_router_status_reports_budget_and_circuits() -> None:
    state, clock = InMemoryStateStore(), Clock(NOW)
    r = router(state, clock)
    await r.record_failure(HAIKU, "timeout")
    status = await r.status()
    assert status["budget"]["level"] == "ok"
    haiku = next(t for t in status["targets"] if t["target"] == str(HAIKU))
    assert haiku["failures"] == 1 and haiku["circuit"] == "closed"


def test_settings_claude_route_without_key_names_the_variable() -> None:
    with pytest.raises(ValidationError, match="AI_DECISION_ANTHROPIC_API_KEY is not set"):
        AiDecisionSettings(routing=POLICY, anthropic_key_secret="")


def test_settings_unpriced_model_is_refused_at_startup() -> None:
    policy = RoutingPolicy(tasks={Task.FAST: ["claude:claude-imaginary-9"]})
    with pytest.raises(ValidationError, match="no price for claude model 'claude-imaginary-9'"):
        AiDecisionSettings(routing=policy, anthropic_api_key="k")


def test_settings_from_env_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AI_DECISION_ROUTING",
        '{"tasks": {"fast": ["claude:claude-x"]}, '
        '"strategies": {"s": {"deep": ["local:ensemble-v1"]}}}',
    )
    monkeypatch.setenv("AI_DECISION_MODEL_PRICES", '{"claude-x": {"input": "2", "output": "8"}}')
    monkeypatch.setenv("AI_DECISION_ANTHROPIC_API_KEY", "sk-test")
    monkeypatch.setenv("AI_DECISION_DAILY_BUDGET_USD", "25")
    monkeypatch.setenv("AI_DECISION_PROMPT_TEMPLATES", '{"deep": "decision/v1"}')
    settings = AiDecisionSettings()
    assert settings.routing.chain("x", Task.FAST) == [Target("claude", "claude-x"), LOCAL]
    assert settings.price_table().price("claude", "claude-x").input_per_mtok == Decimal("2")
    assert settings.budget_policy().daily_usd == Decimal("25")
    assert str(settings.template_refs()[Task.FAST]) == "decision/v1"


def test_settings_unknown_local_model_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown local models"):
        AiDecisionSettings(routing=RoutingPolicy(fallback="local:gpt-at-home"))


def test_settings_sma_cross_routed_with_too_few_recent_bars_is_refused() -> None:
    with pytest.raises(ValidationError, match="needs at least 31"):
        AiDecisionSettings(
            routing=RoutingPolicy.model_validate(
                {"strategies": {"sma": {"fast": ["local:sma-cross-v1"]}}}
            )
        )


def test_settings_sma_cross_routed_with_enough_bars_is_accepted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "AI_DECISION_ROUTING", '{"strategies": {"sma": {"fast": ["local:sma-cross-v1"]}}}'
    )
    monkeypatch.setenv("AI_DECISION_RECENT_BARS", '{"fast": 16}')
    monkeypatch.setenv("AI_DECISION_SMA_CROSS", '{"fast": 5, "slow": 15, "quantity": "20"}')
    settings = AiDecisionSettings()
    assert settings.recent_bars[Task.FAST] == 16
    assert settings.recent_bars[Task.DEEP] == 30  # the defaults stay for the other tasks
    assert settings.sma_cross.params().quantity == Decimal(20)
    assert settings.routing.chain("sma", Task.FAST)[0] == Target("local", "sma-cross-v1")


def test_settings_sma_cross_slow_not_after_fast_is_refused() -> None:
    with pytest.raises(ValidationError, match="slow"):
        AiDecisionSettings.model_validate({"sma_cross": {"fast": 10, "slow": 10}})


def test_settings_recent_bars_beyond_the_feature_store_is_refused() -> None:
    with pytest.raises(ValidationError, match="more than the feature store keeps"):
        AiDecisionSettings.model_validate({"recent_bars": {"deep": 400}})
