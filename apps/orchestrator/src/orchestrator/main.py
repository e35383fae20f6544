"""Composition root of the orchestrator service."""

from __future__ import annotations

from fastapi import FastAPI

from trader_common.app import build_app
from trader_common.runner import serve
from trader_common.settings import load_settings

from .settings import OrchestratorSettings


def create_app(settings: OrchestratorSettings | None = None) -> FastAPI:
    settings = settings or OrchestratorSettings()
    return build_app(
        settings,
        title="AI Active Trader — orchestrator",
        description="Cycle scheduling, sagas and operational state.",
    )


def run() -> None:
    settings = load_settings(OrchestratorSettings)
    serve(create_app(settings), settings)
