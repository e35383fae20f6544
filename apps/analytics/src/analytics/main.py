"""Composition root of the analytics service."""

from __future__ import annotations

from fastapi import FastAPI

from trader_common.app import build_app
from trader_common.runner import serve
from trader_common.settings import load_settings

from .settings import AnalyticsSettings


def create_app(settings: AnalyticsSettings | None = None) -> FastAPI:
    settings = settings or AnalyticsSettings()
    return build_app(
        settings,
        title="AI Active Trader — analytics",
        description="P&L, equity curves and performance metrics.",
    )


def run() -> None:
    settings = load_settings(AnalyticsSettings)
    serve(create_app(settings), settings)
