"""GET /feed: what the feed is doing."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

router = APIRouter(tags=["feed"])


@router.get("/feed")
async def feed_status(request: Request) -> dict[str, Any]:
    settings = request.app.state.settings
    feed = request.app.state.feed
    return {
        "feed": settings.feed,
        "symbols": settings.symbols,
        "interval_seconds": settings.interval_seconds,
        "published": feed.published if feed else 0,
        "failures": feed.failures if feed else 0,
        "last_error": feed.last_error if feed else None,
    }
