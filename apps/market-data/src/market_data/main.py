"""Composition root of the market data service: ``create_app(settings)`` builds everything
(feed, connectors with their guards, pipeline, cache, read API) and nothing runs before it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from fastapi import FastAPI

from trader_common.app import DaprPlatform, Readiness, build_app
from trader_common.contracts import ConnectorHealth, utc_now
from trader_common.ports import EventPublisher, SecretSource, StateStore
from trader_common.runner import serve
from trader_common.settings import load_settings

from .adapters.alpaca import AlpacaConfig, AlpacaConnector
from .adapters.coingecko import CoinGeckoConfig, CoinGeckoConnector
from .adapters.finnhub import FinnhubConfig, FinnhubConnector
from .adapters.offline import ReplayConnector, SyntheticConnector
from .adapters.replay_files import load_bars
from .adapters.secrets import DaprSecretSource
from .api import connectors as connectors_api
from .api import feed as feed_api
from .api import market as market_api
from .domain.breaker import CircuitBreaker
from .domain.replay import schedule
from .domain.sequencer import Sequencer
from .domain.synthetic import SyntheticMarket
from .service.cache import MarketCache
from .service.feeds import (
    FeedRunner,
    FeedSource,
    PollingSource,
    ReplaySource,
    StreamSource,
    SyntheticSource,
)
from .service.guard import GuardedConnector, HealthEvents
from .service.pipeline import MarketPipeline
from .service.ports import MarketDataConnector
from .service.reads import MarketReads
from .service.rejections import RejectionLog
from .settings import ConnectorName, MarketDataSettings

log = logging.getLogger(__name__)

_BEFORE_ANY_DATA = datetime(1, 1, 1, tzinfo=UTC)


def _provider(
    name: ConnectorName,
    settings: MarketDataSettings,
    secrets: SecretSource,
    rejections: RejectionLog,
    clock: Callable[[], datetime],
    monotonic: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]],
    blocking_sleep: Callable[[float], None],
) -> MarketDataConnector:
    common = {
        "timeout_seconds": settings.provider_timeout_seconds,
        "max_retries_429": settings.max_429_retries,
        "max_retry_wait_seconds": settings.max_retry_after_seconds,
    }
    if name == "alpaca":
        return AlpacaConnector(
            secrets,
            AlpacaConfig(
                data_url=settings.alpaca_data_url,
                trading_url=settings.alpaca_trading_url,
                stock_stream_url=settings.alpaca_stream_url,
                crypto_stream_url=settings.alpaca_crypto_stream_url,
                feed=settings.alpaca_feed,
                rate_per_minute=settings.alpaca_rate_per_minute,
                **common,  # type: ignore[arg-type]
            ),
            rejections=rejections,
            clock=clock,
            monotonic=monotonic,
            sleep=blocking_sleep,
        )
    if name == "finnhub":
        return FinnhubConnector(
            secrets,
            FinnhubConfig(
                api_url=settings.finnhub_url,
                rate_per_minute=settings.finnhub_rate_per_minute,
                **common,  # type: ignore[arg-type]
            ),
            rejections=rejections,
            clock=clock,
            monotonic=monotonic,
            sleep=blocking_sleep,
        )
    return CoinGeckoConnector(
        secrets,
        CoinGeckoConfig(
            api_url=settings.coingecko_url,
            plan=settings.coingecko_plan,
            ids=settings.coingecko_ids,
            rate_per_minute=settings.coingecko_rate_per_minute,
            **common,  # type: ignore[arg-type]
        ),
        rejections=rejections,
        clock=clock,
        monotonic=monotonic,
        sleep=sleep,
    )


async def _connector_readiness(app: FastAPI) -> Readiness:
    """Connector health alongside readiness. A provider being down degrades the service
    (reported here, on /connectors and as system events) but never makes it unready: the cache,
    the other connectors and the offline feeds keep serving."""
    guards: list[GuardedConnector] = app.state.connectors
    connectors = {g.name: str(g.health) for g in guards}
    runner: FeedRunner | None = app.state.feed
    return Readiness(
        ready=True,
        report={
            "feed": runner.state if runner else "off",
            "connectors": connectors,
            "degraded": sorted(n for n, h in connectors.items() if h != ConnectorHealth.HEALTHY),
        },
    )


def create_app(
    settings: MarketDataSettings | None = None,
    *,
    platform: DaprPlatform | None = None,
    publisher: EventPublisher | None = None,
    state: StateStore | None = None,
    secrets: SecretSource | None = None,
    clock: Callable[[], datetime] = utc_now,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    blocking_sleep: Callable[[float], None] = time.sleep,
) -> FastAPI:
    """The market data app. The keyword arguments replace the Dapr-backed ports (tests,
    in-process runs); by default everything goes through the sidecar."""
    settings = settings or MarketDataSettings()

    async def start(app: FastAPI) -> None:
        runner: FeedRunner | None = app.state.feed
        if runner is not None:
            task = asyncio.create_task(runner.run(), name="market-feed")
            task.add_done_callback(_report_feed_end)
            app.state.feed_task = task

    async def stop(app: FastAPI) -> None:
        task = getattr(app.state, "feed_task", None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for guard in app.state.connectors:
            with contextlib.suppress(Exception):
                await guard.aclose()

    app = build_app(
        settings,
        title="AI Active Trader — market data",
        description="Provider connectors, offline feeds, normalisation and the quote cache.",
        routers=[feed_api.router, market_api.router, connectors_api.router],
        on_startup=start,
        on_shutdown=stop,
        platform=platform,
        readiness_checks=[_connector_readiness],
    )
    # Never let HTTP client debug logs print request URLs (Finnhub puts its token there) or
    # websocket frames (Alpaca's auth frame carries the keys).
    for noisy in ("urllib3", "websockets", "requests"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    the_platform: DaprPlatform = app.state.platform
    # Dapr's bulk publish keeps no order inside a request: one event per symbol per request.
    publisher = publisher or the_platform.publisher
    state = state or the_platform.state
    secrets = secrets or DaprSecretSource(the_platform.sidecar, settings.secret_store)
    rejections = RejectionLog()
    health_events = HealthEvents(publisher, settings.app_id, clock)

    def guard(connector: MarketDataConnector) -> GuardedConnector:
        return GuardedConnector(
            connector,
            CircuitBreaker(settings.breaker_failures, settings.breaker_cooldown_seconds),
            health_events,
            monotonic=monotonic,
            clock=clock,
            call_timeout=settings.call_timeout_seconds,
        )

    source: FeedSource | None = None
    replay_source: ReplaySource | None = None
    guards: list[GuardedConnector] = []
    symbols = list(settings.symbols)

    if settings.feed == "synthetic":
        market = SyntheticMarket(
            symbols,
            settings.seed,
            settings.start_price,
            step_seconds=settings.interval_seconds,
            base_spread_bps=settings.synthetic_spread_bps,
        )
        guards.append(guard(SyntheticConnector(market)))
        source = SyntheticSource(
            market,
            settings.interval_seconds,
            clock,
            sleep,
            history_seconds=settings.synthetic_history_minutes * 60,
        )
    elif settings.feed == "replay":
        bars = load_bars(
            settings.replay_path,
            symbols=symbols if "symbols" in settings.model_fields_set else None,
            timeframe=settings.replay_timeframe,
            calendar=settings.replay_calendar,
            start=settings.replay_start,
            end=settings.replay_end,
        )
        symbols = sorted({b.symbol for b in bars})
        spread = settings.replay_spread_bps if settings.replay_quotes else None
        replay_source = ReplaySource(
            schedule(bars, settings.replay_speed, quote_spread_bps=spread), sleep
        )
        cursor_of = replay_source

        guards.append(
            guard(
                ReplayConnector(
                    bars, lambda: cursor_of.cursor or _BEFORE_ANY_DATA, quote_spread_bps=spread
                )
            )
        )
        source = replay_source

    for name in settings.provider_connectors():
        guards.append(
            guard(
                _provider(
                    name, settings, secrets, rejections, clock, monotonic, sleep, blocking_sleep
                )
            )
        )
    if settings.feed in ("alpaca", "finnhub", "coingecko"):
        feed_guard = next(g for g in guards if g.name == settings.feed)
        if settings.feed == "alpaca" and settings.alpaca_stream:
            source = StreamSource(feed_guard, symbols, sleep)
        else:
            source = PollingSource(feed_guard, symbols, settings.interval_seconds, sleep)

    cache = MarketCache(state, settings.cache_ttl_seconds)
    pipeline = MarketPipeline(publisher, cache, Sequencer())
    app.state.feed = FeedRunner(source, pipeline, sleep) if source is not None else None
    app.state.replay_source = replay_source
    app.state.symbols = symbols
    app.state.cache = cache
    app.state.connectors = guards
    app.state.reads = MarketReads(cache, guards)
    app.state.rejections = rejections
    app.state.health_events = health_events
    app.state.clock = clock
    log.info("market data configured", extra={"feed": settings.feed, "symbols": ",".join(symbols)})
    return app


def _report_feed_end(task: asyncio.Task[None]) -> None:
    if task.cancelled():
        return
    problem = task.exception()
    if problem is not None:
        log.error("feed stopped by an unexpected error", exc_info=problem)


def run() -> None:
    settings = load_settings(MarketDataSettings)
    serve(create_app(settings), settings)
