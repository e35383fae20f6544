"""Overnight batches: look at them and collect their results (a scheduler calls collect)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from ..service.batches import BatchNotFoundError
from .deps import BatchesDep

router = APIRouter(tags=["batches"])


@router.get("/decisions/batches", summary="Overnight batches not collected yet")
async def list_open_batches(batches: BatchesDep) -> dict[str, Any]:
    return {"open": await batches.open_batches()}


@router.get("/decisions/batches/{batch_id}", responses={404: {"description": "No such batch"}})
async def get_batch(batch_id: str, batches: BatchesDep) -> dict[str, Any]:
    try:
        return await batches.get(batch_id)
    except BatchNotFoundError as exc:
        raise HTTPException(404, str(exc)) from None


@router.post("/decisions/batches/collect", summary="Collect every open batch that has ended")
async def collect_open_batches(batches: BatchesDep) -> dict[str, Any]:
    return {"batches": await batches.collect_open()}


@router.post(
    "/decisions/batches/{batch_id}/collect",
    summary="Collect a batch's results if it has ended (idempotent)",
    responses={404: {"description": "No such batch"}},
)
async def collect_batch(batch_id: str, batches: BatchesDep) -> dict[str, Any]:
    try:
        return await batches.collect(batch_id)
    except BatchNotFoundError as exc:
        raise HTTPException(404, str(exc)) from None
