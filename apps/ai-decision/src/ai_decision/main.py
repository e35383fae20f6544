"""Composition root of the AI decision service."""

from __future__ import annotations

from fastapi import FastAPI

from trader_common.app import build_app
from trader_common.runner import serve

from .settings import AiDecisionSettings


def create_app(settings: AiDecisionSettings | None = None) -> FastAPI:
    settings = settings or AiDecisionSettings()
    return build_app(
        settings,
        title="AI Active Trader — AI decision",
        description="Feature store, prompts, LLM routing and the decision audit trail.",
    )


def run() -> None:
    settings = AiDecisionSettings()
    serve(create_app(settings), settings)
