"""Composition root of the trading engine."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from fastapi import FastAPI

from trader_common.adapters.secrets import DaprSecretSource
from trader_common.app import build_app
from trader_common.eventstore import EventStore as RecordStore
from trader_common.ports import PlatformUnavailableError
from trader_common.runner import serve
from trader_common.settings import load_settings

from .adapters.calendar import ExchangeCalendarSessions
from .adapters.dapr_store import DaprEventStore, DaprOutbox, DaprSnapshotStore
from .api import account, broker, events, market, orders, positions, quotes, trading_state
from .api.errors import install_error_handlers
from .broker_routing import AlpacaRouting
from .domain.assets import Asset, AssetRegistry
from .domain.core import AccountConfig, ExchangeConfig
from .domain.events import AccountType
from .domain.risk import RiskLimits
from .service.clock import MarketClock, SystemClock
from .service.engine import TradingEngine
from .service.quotes import QuoteBook
from .service.routing import RoutedTradingService
from .service.trading_service import TradingService
from .settings import TradingEngineSettings

log = logging.getLogger(__name__)


def build_assets(settings: TradingEngineSettings) -> AssetRegistry:
    return AssetRegistry(
        [Asset.equity(s, calendar=settings.equity_calendar) for s in settings.equity_symbols()]
        + [Asset.crypto(s) for s in settings.crypto_symbols()]
    )


def build_risk(settings: TradingEngineSettings) -> RiskLimits:
    return RiskLimits(
        max_order_notional=settings.max_order_notional,
        max_position_notional=settings.max_position_notional,
        max_position_pct_of_equity=settings.max_position_pct_of_equity,
        max_gross_exposure=settings.max_gross_exposure,
        price_collar_pct=settings.price_collar_pct,
        max_open_orders=settings.max_open_orders,
        max_orders_per_window=settings.max_orders_per_second,
        order_rate_window=timedelta(seconds=1),
        max_daily_loss=settings.max_daily_loss,
        max_drawdown_pct=settings.max_drawdown_pct,
    )


def build_account(settings: TradingEngineSettings) -> AccountConfig:
    return AccountConfig(
        account_id=settings.account_id,
        starting_cash=settings.starting_cash,
        account_type=settings.account_type,
        margin_multiplier=settings.margin_multiplier,
        shorting_enabled=settings.shorting_enabled and settings.account_type is AccountType.MARGIN,
    )


class StartedService:
    """The service once it has rebuilt its state from the store (503 until then)."""

    def __init__(self, service: TradingService) -> None:
        self.service = service
        self.ready = asyncio.Event()
        self.routing: AlpacaRouting | None = None  # broker=alpaca


async def _start_and_tick(started: StartedService, settings: TradingEngineSettings) -> None:
    """Rebuild from the store (retrying while the sidecar is not up), then let time pass and
    retry unpublished outbox messages every ``timer_seconds``."""
    service = started.service
    while True:
        try:
            await service.start(build_account(settings))
            break
        except Exception:
            log.warning("trading engine not started yet; retrying", exc_info=True)
            await asyncio.sleep(0.5)
    while started.routing is not None:
        try:
            await started.routing.connect()
            break
        except Exception as error:
            # Not ready (503) until Alpaca is configured: never silently the paper exchange.
            log.error("trading engine cannot route orders to Alpaca: %s", error)
            await asyncio.sleep(5)
    started.ready.set()
    log.info("trading engine started", extra={"version": service.engine.version})
    while True:
        await asyncio.sleep(settings.timer_seconds)
        try:
            await service.advance_clock()
            await service.drain_outbox()
        except PlatformUnavailableError as exc:  # the sidecar is (re)starting or stopping
            log.warning("timer tick failed (%s); next tick retries", exc)
        except Exception:
            log.warning("timer tick failed", exc_info=True)


def create_app(settings: TradingEngineSettings | None = None) -> FastAPI:
    settings = settings or TradingEngineSettings()
    task: asyncio.Task[None] | None = None

    async def on_startup(app: FastAPI) -> None:
        nonlocal task
        task = asyncio.create_task(_start_and_tick(app.state.started, settings))

    async def on_shutdown(app: FastAPI) -> None:
        if app.state.started.routing is not None:
            await app.state.started.routing.stop()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = build_app(
        settings,
        title="AI Active Trader — trading engine",
        description="Order lifecycle, paper exchange, positions and risk.",
        routers=[
            orders.router,
            positions.router,
            account.router,
            trading_state.router,
            quotes.router,
            market.router,
            broker.router,
            events.router,
        ],
        on_startup=on_startup,
        on_shutdown=on_shutdown,
    )
    platform = app.state.platform
    records = RecordStore(platform.state, f"/{settings.app_id}")
    routed = settings.broker == "alpaca"
    service = (RoutedTradingService if routed else TradingService)(
        TradingEngine(
            assets=build_assets(settings),
            calendar=ExchangeCalendarSessions(),
            clock=MarketClock() if settings.clock == "market" else SystemClock(),
            exchange=ExchangeConfig(bar_timeframe=settings.bar_timeframe),
            risk=build_risk(settings),
            external=routed,
        ),
        store=DaprEventStore(records, f"/{settings.app_id}"),
        snapshots=DaprSnapshotStore(records),
        outbox=DaprOutbox(records, settings.stream, platform.publisher),
        snapshot_every=settings.snapshot_every,
        stream=settings.stream,
        service_name=settings.app_id,
    )
    app.state.started = StartedService(service)
    if isinstance(service, RoutedTradingService):
        secrets = DaprSecretSource(platform.sidecar, settings.secret_store)
        app.state.started.routing = AlpacaRouting(
            service, settings, secrets, publisher=platform.publisher
        )
    app.state.trading_service = service
    app.state.quote_book = QuoteBook(platform.state, settings.quote_ttl_seconds)
    install_error_handlers(app)
    return app


def run() -> None:
    settings = load_settings(TradingEngineSettings)
    serve(create_app(settings), settings)
