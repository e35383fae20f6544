"""Composition root of the AI decision service.

Everything is built here from settings and nothing touches the network while building, so the
process is ready as soon as uvicorn listens (the prompt templates are read from disk once, so a
broken template stops startup with its name). The process keeps no state between requests: the
feature store, the audit trail, the budget, the circuits and the overnight batches are all in
the state store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from fastapi import FastAPI

from trader_common.app import build_app
from trader_common.contracts import utc_now
from trader_common.ports import EventPublisher, StateStore
from trader_common.runner import serve
from trader_common.settings import load_settings

from .adapters.anthropic_provider import ClaudeBatchProvider, ClaudeProvider, client_factory
from .adapters.local_provider import LocalModelProvider, local_models
from .adapters.news import MarketDataNewsSource, NoNewsSource
from .adapters.prompts import DEFAULT_PROMPTS_DIR, JinjaPromptRenderer
from .api import audit, batches, features, requests
from .service.audit import AuditLog
from .service.batches import OvernightBatches
from .service.decisions import DecisionService, DecisionSettings
from .service.feature_store import FeatureStore
from .service.ports import DecisionProvider, NewsSource
from .service.requests import DecisionRequests
from .service.routing import Router
from .settings import AiDecisionSettings

log = logging.getLogger(__name__)


@dataclass
class Overrides:
    """Replacements for the platform adapters (in-process runs, tests, benchmarks)."""

    state: StateStore | None = None
    publisher: EventPublisher | None = None
    news: NewsSource | None = None
    clock: Callable[[], datetime] | None = None
    sleep: Callable[[float], Awaitable[None]] | None = None


def create_app(
    settings: AiDecisionSettings | None = None, overrides: Overrides | None = None
) -> FastAPI:
    settings = settings or AiDecisionSettings()
    overrides = overrides or Overrides()
    claude: ClaudeProvider | None = None

    async def start(app: FastAPI) -> None:
        if claude is not None:
            # the anthropic SDK takes seconds to import: warm it up off the event loop so the
            # process serves (and is ready) at once; the first Claude call awaits the same import
            app.state.sdk_warmup = asyncio.create_task(claude.load_sdk(), name="anthropic-import")

    async def stop(app: FastAPI) -> None:
        warmup = getattr(app.state, "sdk_warmup", None)
        if warmup is not None:
            with contextlib.suppress(Exception):
                await warmup
        if claude is not None:
            await claude.close()

    app = build_app(
        settings,
        title="AI Active Trader — AI decision",
        description="Feature store, prompts, LLM routing and the decision audit trail.",
        routers=[
            requests.router,
            requests.events_router,
            batches.router,
            audit.router,
            features.router,
        ],
        on_startup=start,
        on_shutdown=stop,
    )
    platform = app.state.platform
    state: StateStore = overrides.state or platform.state
    publisher: EventPublisher = overrides.publisher or platform.publisher
    clock = overrides.clock or utc_now
    if overrides.news is not None:
        news: NewsSource = overrides.news
    elif settings.news_source == "market-data":
        news = MarketDataNewsSource(platform.invoker, settings.news_app_id)
    else:
        news = NoNewsSource()

    prices = settings.price_table()
    templates = settings.template_refs()
    renderer = JinjaPromptRenderer(settings.prompts_dir or DEFAULT_PROMPTS_DIR, templates.values())
    providers: dict[str, DecisionProvider] = {
        "local": LocalModelProvider(local_models(sma=settings.sma_cross.params()))
    }
    if settings.anthropic_api_key is not None:
        claude = ClaudeProvider(
            client_factory(
                settings.anthropic_api_key.get_secret_value(),
                settings.anthropic_base_url,
                settings.anthropic_timeout_seconds,
            ),
            prompt_caching=settings.prompt_caching,
            timeout_seconds=settings.anthropic_timeout_seconds,
            max_retries=settings.anthropic_max_retries,
            max_retry_wait_seconds=settings.anthropic_max_retry_wait_seconds,
            sleep=overrides.sleep or asyncio.sleep,
        )
        providers["claude"] = claude

    feature_store = FeatureStore(
        state, settings.feature_timeframe, settings.feature_max_bars, settings.feature_max_ticks
    )
    audit_log = AuditLog(state)
    router = Router(
        state,
        settings.routing,
        settings.budget_policy(),
        settings.circuit_policy(),
        prices,
        clock,
    )
    decisions = DecisionService(
        features=feature_store,
        news=news,
        renderer=renderer,
        providers=providers,
        router=router,
        audit=audit_log,
        publisher=publisher,
        prices=prices,
        settings=DecisionSettings(
            templates=templates,
            recent_bars=settings.recent_bars,
            max_concurrency=settings.max_concurrency,
        ),
        clock=clock,
    )
    overnight = (
        OvernightBatches(decisions, ClaudeBatchProvider(claude), state, clock)
        if claude is not None
        else None
    )
    app.state.features = feature_store
    app.state.audit = audit_log
    app.state.router = router
    app.state.decisions = decisions
    app.state.decision_requests = DecisionRequests(decisions, overnight)
    return app


def run() -> None:
    settings = load_settings(AiDecisionSettings)
    serve(create_app(settings), settings)
