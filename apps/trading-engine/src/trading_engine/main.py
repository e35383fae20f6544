"""Composition root of the trading engine."""

from __future__ import annotations

from fastapi import FastAPI

from trader_common.app import build_app
from trader_common.runner import serve
from trader_common.settings import load_settings

from .api import events, quotes
from .service.quotes import QuoteBook
from .settings import TradingEngineSettings


def create_app(settings: TradingEngineSettings | None = None) -> FastAPI:
    settings = settings or TradingEngineSettings()
    app = build_app(
        settings,
        title="AI Active Trader — trading engine",
        description="Order lifecycle, paper exchange, positions and risk.",
        routers=[quotes.router, events.router],
    )
    app.state.quote_book = QuoteBook(app.state.platform.state, settings.quote_ttl_seconds)
    return app


def run() -> None:
    settings = load_settings(TradingEngineSettings)
    serve(create_app(settings), settings)
