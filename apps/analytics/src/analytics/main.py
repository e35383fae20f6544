"""Composition root of the analytics service."""

from __future__ import annotations

from fastapi import FastAPI

from trader_common.app import build_app
from trader_common.runner import serve
from trader_common.settings import load_settings

from .adapters.charts import MatplotlibChartRenderer
from .adapters.database import Database
from .adapters.postgres import PostgresReadModel
from .adapters.readiness import database_readiness
from .api import admin, charts, drawdowns, equity, events, metrics, pnl, rolling
from .api.errors import install_error_handlers
from .service.performance import PerformanceService
from .service.queries import AnalyticsQueries
from .service.read_model import ReadModelService
from .settings import AnalyticsSettings


def create_app(settings: AnalyticsSettings | None = None) -> FastAPI:
    settings = settings or AnalyticsSettings()
    database = Database(
        settings.dsn(),
        size=settings.database_pool_size,
        connect_timeout=settings.database_connect_timeout_seconds,
    )
    read_model = PostgresReadModel(database)
    performance = PerformanceService(
        read_model,
        read_model,
        benchmarks=read_model,
        charts=MatplotlibChartRenderer(),
        periods_per_year=settings.periods_per_year,
        risk_free_annual=settings.risk_free_annual,
    )

    async def on_startup(_: FastAPI) -> None:
        await database.wait_until_reachable(settings.database_startup_wait_seconds)
        await read_model.migrate()

    async def on_shutdown(_: FastAPI) -> None:
        await database.close()

    app = build_app(
        settings,
        title="AI Active Trader — analytics",
        description=(
            "P&L, equity curves and performance metrics from the trading events (a read model "
            "on PostgreSQL). Money is decimal strings; times are UTC; daily figures are per UTC "
            "day. Definitions: docs/analytics-metrics.md."
        ),
        required_components=("pubsub",),
        readiness_checks=[database_readiness(database)],
        routers=[
            metrics.router,
            equity.router,
            pnl.router,
            drawdowns.router,
            rolling.router,
            charts.router,
            admin.router,
            events.router,
        ],
        on_startup=on_startup,
        on_shutdown=on_shutdown,
    )
    install_error_handlers(app)
    app.state.read_model = read_model
    app.state.queries = AnalyticsQueries(read_model, performance)
    app.state.ingestion = ReadModelService(
        read_model,
        default_account_id=settings.default_account_id,
        starting_cash_of=settings.starting_cash_of,
    )
    return app


def run() -> None:
    settings = load_settings(AnalyticsSettings)
    serve(create_app(settings), settings)
