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

from trader_common.adapters.secrets import DaprSecretSource
from trader_common.app import Readiness, build_app
from trader_common.contracts import utc_now
from trader_common.ports import EventPublisher, PlatformUnavailableError, SecretSource, StateStore
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
# How long start-up waits for the secret store (the sidecar may start after the app).
KEY_LOOKUP_SECONDS = 20.0


@dataclass
class Overrides:
    """Replacements for the platform adapters (in-process runs, tests, benchmarks)."""

    state: StateStore | None = None
    publisher: EventPublisher | None = None
    news: NewsSource | None = None
    clock: Callable[[], datetime] | None = None
    sleep: Callable[[float], Awaitable[None]] | None = None
    secrets: SecretSource | None = None


def create_app(
    settings: AiDecisionSettings | None = None, overrides: Overrides | None = None
) -> FastAPI:
    settings = settings or AiDecisionSettings()
    overrides = overrides or Overrides()
    claude: ClaudeProvider | None = None

    def warm_up_sdk(app: FastAPI, provider: ClaudeProvider) -> None:
        # the anthropic SDK takes seconds to import: warm it up off the event loop so the
        # process serves (and is ready) at once; the first Claude call awaits the same import
        app.state.sdk_warmup = asyncio.create_task(provider.load_sdk(), name="anthropic-import")

    async def look_up_key(app: FastAPI) -> None:
        """The Anthropic key from the secret store (retried while the sidecar starts)."""
        secrets = overrides.secrets or DaprSecretSource(
            app.state.platform.sidecar, settings.secret_store
        )
        deadline = asyncio.get_running_loop().time() + KEY_LOOKUP_SECONDS
        while True:
            try:
                key = await secrets.get(settings.anthropic_key_secret)
                break
            except PlatformUnavailableError as exc:
                if asyncio.get_running_loop().time() > deadline:
                    # e.g. a store this app is not scoped to: decide locally, say so loudly
                    log.error(
                        "could not read the Anthropic key from %s for %.0f s (%s): "
                        "the local model decides",
                        settings.secret_store,
                        KEY_LOOKUP_SECONDS,
                        exc,
                    )
                    return
                log.info("secret store not answering yet: %s", exc)
                await asyncio.sleep(0.5)
        if key is None:
            log.info(
                "no Anthropic key (AI_DECISION_ANTHROPIC_API_KEY or secret %s in %s): "
                "the local model decides",
                settings.anthropic_key_secret,
                settings.secret_store,
            )
            return
        warm_up_sdk(app, enable_claude(app, key))
        log.info(
            "Anthropic key read from secret %s: routing %s",
            settings.anthropic_key_secret,
            ", ".join(str(t) for t in app.state.router.policy.all_targets()),
        )

    async def start(app: FastAPI) -> None:
        if claude is not None:
            warm_up_sdk(app, claude)
        elif settings.anthropic_key_secret:
            app.state.key_lookup = asyncio.create_task(look_up_key(app), name="anthropic-key")

    async def key_known(app: FastAPI) -> Readiness:
        """Ready once the key lookup is over; not ready, saying why, when the routing names
        Claude and there is no key."""
        lookup = getattr(app.state, "key_lookup", None)
        if lookup is not None and not lookup.done():
            return Readiness(False, "reading the Anthropic key from the secret store")
        if claude is None and any(t.provider == "claude" for t in settings.routing.all_targets()):
            return Readiness(
                False,
                "AI_DECISION_ROUTING uses claude but there is no Anthropic key "
                f"(AI_DECISION_ANTHROPIC_API_KEY, or secret {settings.anthropic_key_secret!r})",
            )
        return Readiness(True, report={"claude": claude is not None})

    async def stop(app: FastAPI) -> None:
        lookup = getattr(app.state, "key_lookup", None)
        if lookup is not None:
            lookup.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await lookup
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
        readiness_checks=[key_known],
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
    app.state.features = feature_store
    app.state.audit = audit_log
    app.state.router = router
    app.state.decisions = decisions
    app.state.decision_requests = DecisionRequests(decisions, None)

    def enable_claude(app: FastAPI, key: str) -> ClaudeProvider:
        """Claude as a provider (and the overnight batches): at composition with a key from
        the environment, or at start with one from the secret store."""
        nonlocal claude
        claude = ClaudeProvider(
            client_factory(key, settings.anthropic_base_url, settings.anthropic_timeout_seconds),
            prompt_caching=settings.prompt_caching,
            timeout_seconds=settings.anthropic_timeout_seconds,
            max_retries=settings.anthropic_max_retries,
            max_retry_wait_seconds=settings.anthropic_max_retry_wait_seconds,
            sleep=overrides.sleep or asyncio.sleep,
        )
        providers["claude"] = claude
        router.policy = settings.routing_with_key()
        app.state.decision_requests = DecisionRequests(
            decisions, OvernightBatches(decisions, ClaudeBatchProvider(claude), state, clock)
        )
        return claude

    if settings.anthropic_api_key is not None:
        enable_claude(app, settings.anthropic_api_key.get_secret_value())
    return app


def run() -> None:
    settings = load_settings(AiDecisionSettings)
    serve(create_app(settings), settings)
