"""POST /admin/rebuild: re-project the whole read model from the event log."""

from __future__ import annotations

from fastapi import APIRouter

from .deps import IngestionDep
from .schemas import UNAVAILABLE, RebuildResponse

router = APIRouter(tags=["admin"])


@router.post(
    "/admin/rebuild",
    summary="Rebuild the read model from the event log (atomic; writes wait meanwhile)",
    response_model=RebuildResponse,
    responses=UNAVAILABLE,
)
async def rebuild(ingestion: IngestionDep) -> RebuildResponse:
    result = await ingestion.rebuild()
    return RebuildResponse(events=result.events, applied=result.applied, skipped=result.skipped)
