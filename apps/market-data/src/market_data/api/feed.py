"""GET /feed: what the feed is doing."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

router = APIRouter(tags=["feed"])


@router.get("/feed", summary="The configured feed and its progress")
async def feed_status(request: Request) -> dict[str, Any]:
    settings = request.app.state.settings
    runner = request.app.state.feed
    replay = request.app.state.replay_source
    cache = request.app.state.cache
    body: dict[str, Any] = {
        "feed": settings.feed,
        "symbols": request.app.state.symbols,
        "interval_seconds": settings.interval_seconds,
        "state": runner.state if runner else "off",
        "source": runner.source.name if runner else None,
        "published": runner.published if runner else 0,
        "failures": runner.failures if runner else 0,
        "last_error": runner.last_error if runner else None,
        "cache": {
            "ttl_seconds": cache.ttl_seconds,
            "writes": cache.writes,
            "write_failures": cache.write_failures,
        },
    }
    if runner:
        stats = runner.pipeline.stats
        body["duplicates_dropped"] = stats.duplicates
        body["out_of_order_dropped"] = stats.out_of_order
    if replay is not None:
        body["replay"] = {
            "speed": settings.replay_speed,
            "path": str(settings.replay_path),
            "cursor": replay.cursor.isoformat() if replay.cursor else None,
            "finished": replay.finished,
        }
    return body
