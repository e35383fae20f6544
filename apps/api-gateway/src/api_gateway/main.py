"""Composition root of the API gateway."""

from __future__ import annotations

from fastapi import FastAPI

from trader_common.app import build_app
from trader_common.runner import serve
from trader_common.settings import load_settings

from .api import deadletters, quotes
from .service.deadletters import DeadLetterLog
from .settings import ApiGatewaySettings


def create_app(settings: ApiGatewaySettings | None = None) -> FastAPI:
    settings = settings or ApiGatewaySettings()
    app = build_app(
        settings,
        title="AI Active Trader — API gateway",
        description="The front door: REST API and operations views over the services.",
        routers=[quotes.router, deadletters.router],
    )
    app.state.dead_letters = DeadLetterLog(app.state.platform.state, settings.dead_letters_kept)
    return app


def run() -> None:
    settings = load_settings(ApiGatewaySettings)
    serve(create_app(settings), settings)
