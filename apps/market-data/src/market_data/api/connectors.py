"""GET /connectors: the health of every connector, and what was rejected from each."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

router = APIRouter(tags=["connectors"])


@router.get("/connectors", summary="Health, breaker state and rejections per connector")
async def connectors(request: Request) -> dict[str, Any]:
    rejections = request.app.state.rejections
    return {
        "connectors": [
            {
                **guard.status().as_dict(),
                "rejected": rejections.counts.get(guard.name, 0),
                "last_rejection": rejections.last_reason.get(guard.name),
            }
            for guard in request.app.state.connectors
        ]
    }
