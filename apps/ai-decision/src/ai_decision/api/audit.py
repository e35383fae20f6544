"""The audit trail: every decision, accepted or rejected, read back."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query

from .deps import AuditDep

router = APIRouter(tags=["audit"])


@router.get(
    "/decisions/{decision_id}/audit",
    summary="How a decision was made: context, prompt version and hash, model, usage, cost, "
    "latency, output and verdict",
    responses={404: {"description": "No such decision"}},
)
async def get_audit_record(decision_id: UUID, audit: AuditDep) -> dict[str, Any]:
    record = await audit.get(decision_id)
    if record is None:
        raise HTTPException(404, f"no decision {decision_id}")
    data: dict[str, Any] = record.model_dump(mode="json")
    return data


@router.get("/decisions", summary="A strategy's recent decisions, newest first")
async def list_decisions(
    audit: AuditDep,
    strategy_id: Annotated[str, Query(min_length=1, max_length=64)],
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    records = await audit.recent(strategy_id, limit)
    return {
        "strategy_id": strategy_id,
        "total": await audit.count(strategy_id),
        "decisions": [r.summary() for r in records],
    }
