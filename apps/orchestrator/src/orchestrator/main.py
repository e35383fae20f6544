"""Composition root of the orchestrator."""

from __future__ import annotations

from fastapi import FastAPI

from trader_common.app import build_app
from trader_common.contracts import utc_now
from trader_common.runner import serve
from trader_common.settings import load_settings

from .adapters.engine import DaprOrderCanceller
from .api import operations
from .service.operations import OperationsService
from .settings import OrchestratorSettings


def create_app(settings: OrchestratorSettings | None = None) -> FastAPI:
    settings = settings or OrchestratorSettings()
    app = build_app(
        settings,
        title="AI Active Trader — orchestrator",
        description="Cycle scheduling, sagas and operational state (run / pause / halt).",
        routers=[operations.router],
    )
    platform = app.state.platform
    app.state.operations = OperationsService(platform.state, platform.publisher, utc_now)
    app.state.order_canceller = DaprOrderCanceller(platform.invoker, settings.trading_engine_app_id)
    return app


def run() -> None:
    settings = load_settings(OrchestratorSettings)
    serve(create_app(settings), settings)
