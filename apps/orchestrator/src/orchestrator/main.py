"""Composition root of the orchestrator."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from trader_common.app import build_app
from trader_common.contracts import utc_now
from trader_common.runner import serve
from trader_common.settings import load_settings

from .adapters.engine import DaprOrderCanceller
from .adapters.workflow import SidecarCalls, build_client, build_runtime, configure
from .adapters.workflow_states import DaprWorkflowStates
from .api import cron, cycles, operations
from .service.cycles import CycleLog
from .service.operations import OperationsService
from .settings import OrchestratorSettings


def create_app(settings: OrchestratorSettings | None = None) -> FastAPI:
    settings = settings or OrchestratorSettings()
    grpc_port = settings.sidecar.grpc_port

    async def start(app: FastAPI) -> None:
        if not settings.workflows:
            return
        configure(
            SidecarCalls(
                settings.sidecar.http_port,
                settings.trading_engine_app_id,
                settings.ai_decision_app_id,
            )
        )
        runtime = build_runtime(grpc_port)
        await asyncio.to_thread(runtime.start)
        app.state.workflow_runtime = runtime
        app.state.workflow_client = build_client(grpc_port)

    async def stop(app: FastAPI) -> None:
        runtime = getattr(app.state, "workflow_runtime", None)
        if runtime is not None:
            await asyncio.to_thread(runtime.shutdown)

    app = build_app(
        settings,
        title="AI Active Trader — orchestrator",
        description="Cycle scheduling, sagas and operational state (run / pause / halt).",
        routers=[operations.router, cycles.router, cron.router],
        on_startup=start,
        on_shutdown=stop,
    )
    platform = app.state.platform
    app.state.operations = OperationsService(platform.state, platform.publisher, utc_now)
    app.state.order_canceller = DaprOrderCanceller(platform.invoker, settings.trading_engine_app_id)
    app.state.cycle_log = CycleLog(
        platform.state,
        DaprWorkflowStates(lambda: getattr(app.state, "workflow_client", None)),
        platform.invoker,
        settings.trading_engine_app_id,
        utc_now,
    )
    return app


def run() -> None:
    settings = load_settings(OrchestratorSettings)
    serve(create_app(settings), settings)
