"""Contract tests of the Claude provider: the real anthropic SDK against a fake Messages API
served on 127.0.0.1 (a free port) for each test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from ai_decision.domain.commands import RequestDecision, Task
from ai_decision.domain.routing import RoutingPolicy
from ai_decision.main import Overrides, create_app
from ai_decision.settings import AiDecisionSettings
from tests.fakes.anthropic_api import FakeAnthropicAPI, running_fake
from tests.unit.ai_decision.builders import bar_event, bar_series, quote_event, structured
from trader_common.adapters.inprocess import InMemoryEventBus, InMemoryStateStore

BARS = bar_series(80, seed=1)
AS_OF = BARS[-1].ts_close

HAIKU = "claude:claude-haiku-4-5"
SONNET = "claude:claude-sonnet-4-6"
OPUS = "claude:claude-opus-4-6"
DEFAULT_ROUTING = RoutingPolicy(
    tasks={Task.FAST: [HAIKU], Task.DEEP: [SONNET, HAIKU]},
    strategies={"special": {Task.DEEP: [OPUS]}},
)


@pytest.fixture
def fake_api() -> Iterator[FakeAnthropicAPI]:
    with running_fake() as fake:
        yield fake


@dataclass
class ClaudeApp:
    app: FastAPI
    client: httpx.AsyncClient
    state: InMemoryStateStore
    bus: InMemoryEventBus
    fake: FakeAnthropicAPI
    sleeps: list[float] = field(default_factory=list)

    async def decide(self, request: RequestDecision) -> list[dict[str, Any]]:
        headers, body = structured(request)
        response = await self.client.post("/decisions/requests", content=body, headers=headers)
        assert response.status_code == 200, response.text
        outcomes: list[dict[str, Any]] = response.json()["outcomes"]
        return outcomes

    async def audit(self, decision_id: str) -> dict[str, Any]:
        response = await self.client.get(f"/decisions/{decision_id}/audit")
        assert response.status_code == 200
        data: dict[str, Any] = response.json()
        return data


@pytest.fixture
async def make_claude_app(fake_api: FakeAnthropicAPI) -> AsyncIterator[Any]:
    """Build the service routed to Claude at the fake (settings overridable per test); every app
    built is shut down (its SDK client closed) after the test."""
    async with AsyncExitStack() as stack:

        async def build(**settings: Any) -> ClaudeApp:
            values: dict[str, Any] = {
                "news_source": "none",
                "log_json": False,
                "anthropic_api_key": "sk-ant-test",
                "anthropic_base_url": fake_api.base_url,
                "anthropic_max_retries": 2,
                "anthropic_timeout_seconds": 5.0,
                "routing": DEFAULT_ROUTING,
            }
            values.update(settings)
            sleeps: list[float] = []

            async def no_wait(seconds: float) -> None:
                sleeps.append(seconds)

            state, bus = InMemoryStateStore(), InMemoryEventBus()
            app = create_app(
                AiDecisionSettings(**values), Overrides(state=state, publisher=bus, sleep=no_wait)
            )
            await stack.enter_async_context(app.router.lifespan_context(app))
            for symbol in ("AAPL", "MSFT"):
                for bar in BARS:
                    await app.state.features.ingest(bar_event(symbol, bar))
                await app.state.features.ingest(quote_event(symbol, AS_OF, "99.99", "100.01"))
            client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://test"
            )
            await stack.enter_async_context(client)
            return ClaudeApp(app, client, state, bus, fake_api, sleeps)

        yield build
