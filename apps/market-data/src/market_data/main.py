"""Composition root of the market data service."""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import FastAPI

from trader_common.app import build_app
from trader_common.contracts import utc_now
from trader_common.runner import serve

from .api import feed as feed_api
from .domain.synthetic import SyntheticQuotes
from .service.feed import QuoteFeed
from .settings import MarketDataSettings


def create_app(settings: MarketDataSettings | None = None) -> FastAPI:
    settings = settings or MarketDataSettings()

    async def start(app: FastAPI) -> None:
        if app.state.feed is not None:
            app.state.feed_task = asyncio.create_task(app.state.feed.run(), name="quote-feed")

    async def stop(app: FastAPI) -> None:
        task = getattr(app.state, "feed_task", None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = build_app(
        settings,
        title="AI Active Trader — market data",
        description="Provider connectors, offline feeds, normalisation and the quote cache.",
        routers=[feed_api.router],
        on_startup=start,
        on_shutdown=stop,
    )
    app.state.feed = None
    if settings.feed == "synthetic":
        source = SyntheticQuotes(settings.symbols, settings.seed, settings.start_price)
        app.state.feed = QuoteFeed(
            source, app.state.platform.publisher, settings.interval_seconds, utc_now
        )
    return app


def run() -> None:
    settings = MarketDataSettings()
    serve(create_app(settings), settings)
