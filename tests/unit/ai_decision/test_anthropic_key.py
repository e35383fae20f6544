"""The Anthropic key: from AI_DECISION_ANTHROPIC_API_KEY or, without it, from the Dapr secret
store at start. With a key and no configured routing Claude decides (the local model is the
fallback); without one the local model does; routing that names Claude without any key keeps
the service not ready, saying why."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from ai_decision.domain.commands import Task
from ai_decision.domain.routing import RoutingPolicy, Target
from ai_decision.settings import CLAUDE_ROUTING, AiDecisionSettings
from tests.unit.ai_decision.builders import in_process_app
from trader_common.adapters.secrets import StaticSecretSource
from trader_common.app import Readiness
from trader_common.ports import PlatformUnavailableError

LOCAL = Target("local", "ensemble-v1")
HAIKU = Target("claude", "claude-haiku-4-5")
CLAUDE_ONLY = RoutingPolicy.model_validate({"tasks": {"fast": ["claude:claude-haiku-4-5"]}})


class FlakySecrets(StaticSecretSource):
    """The sidecar is still starting for the first ``failures`` reads."""

    def __init__(self, values: dict[str, str], failures: int) -> None:
        super().__init__(values)
        self.failures = failures

    async def get(self, name: str) -> str | None:
        if self.failures:
            self.failures -= 1
            raise PlatformUnavailableError("sidecar starting")
        return await super().get(name)


async def started(app: FastAPI) -> Readiness:
    """Run the app's start-up, wait for the key lookup, and return the key check's verdict."""
    async with app.router.lifespan_context(app):
        lookup = getattr(app.state, "key_lookup", None)
        if lookup is not None:
            await asyncio.wait_for(asyncio.shield(lookup), timeout=10)
        check = app.state.readiness_checks[-1]
        verdict: Readiness = await check(app)
        return verdict


def settings(**values: object) -> AiDecisionSettings:
    return AiDecisionSettings.model_validate({"news_source": "none", "log_json": False, **values})


async def test_key_in_secret_store_claude_decides_with_local_fallback() -> None:
    secrets = FlakySecrets({"anthropic:api-key": "sk-from-store"}, failures=2)
    app, _, _ = in_process_app(settings(), secrets=secrets)
    assert app.state.router.policy.chain("any", Task.FAST) == [LOCAL]  # before the lookup
    verdict = await started(app)
    assert verdict.ready
    assert verdict.report == {"claude": True}
    assert app.state.router.policy == CLAUDE_ROUTING
    assert app.state.router.policy.chain("any", Task.FAST) == [HAIKU, LOCAL]
    assert app.state.decision_requests.batches is not None  # overnight batches with Claude


async def test_no_key_anywhere_local_model_decides_and_ready() -> None:
    app, _, _ = in_process_app(settings(), secrets=StaticSecretSource({}))
    verdict = await started(app)
    assert verdict.ready
    assert verdict.report == {"claude": False}
    assert app.state.router.policy.chain("any", Task.FAST) == [LOCAL]
    assert app.state.decision_requests.batches is None


async def test_claude_routing_without_any_key_not_ready_saying_why() -> None:
    app, _, _ = in_process_app(settings(routing=CLAUDE_ONLY), secrets=StaticSecretSource({}))
    verdict = await started(app)
    assert not verdict.ready
    assert "uses claude but there is no Anthropic key" in str(verdict.detail)


async def test_configured_routing_is_kept_when_the_key_arrives() -> None:
    secrets = StaticSecretSource({"anthropic:api-key": "sk-from-store"})
    policy = RoutingPolicy.model_validate({"tasks": {"deep": ["claude:claude-sonnet-4-6"]}})
    app, _, _ = in_process_app(settings(routing=policy), secrets=secrets)
    assert (await started(app)).ready
    assert app.state.router.policy == policy


def test_env_key_claude_routing_at_composition_without_lookup() -> None:
    app, _, _ = in_process_app(settings(anthropic_api_key="sk-env"))
    assert app.state.router.policy == CLAUDE_ROUTING
    assert "claude" in app.state.decisions._providers


def test_settings_claude_routing_without_key_and_no_secret_lookup_is_refused() -> None:
    with pytest.raises(ValidationError, match="AI_DECISION_ANTHROPIC_API_KEY is not set"):
        AiDecisionSettings(routing=CLAUDE_ONLY, anthropic_key_secret="")
