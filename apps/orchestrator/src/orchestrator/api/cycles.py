"""Trading cycles: start one (POST /cycles), follow it (GET /cycles/{id})."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request
from pydantic import BaseModel, Field

from trader_common.contracts import utc_now

from ..adapters.workflow import trading_cycle

log = logging.getLogger(__name__)
router = APIRouter(tags=["cycles"])

Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
SymbolName = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Z0-9./:-]+$")]


class StartCycle(BaseModel):
    strategy_id: Name
    symbols: list[SymbolName] = Field(min_length=1, max_length=200)
    cycle_id: Name | None = Field(
        default=None, description="Idempotency key: the same id never runs twice"
    )
    fill_timeout: int = Field(default=30, ge=1, le=3600, description="Seconds to wait for fills")


@router.post("/cycles", status_code=202, responses={409: {"description": "Trading not allowed"}})
async def start_cycle(body: StartCycle, request: Request) -> dict[str, Any]:
    operations = await request.app.state.operations.current()
    if not operations.may_trade(body.strategy_id):
        raise HTTPException(409, f"strategy {body.strategy_id} may not trade now (paused/halted)")
    at = utc_now()
    cycle_id = body.cycle_id or f"{body.strategy_id}-{at.strftime('%Y%m%dT%H%M%S%f')}"
    client = request.app.state.workflow_client
    existing = await asyncio.to_thread(client.get_workflow_state, cycle_id, fetch_payloads=False)
    if existing is not None:
        return {"cycle_id": cycle_id, "status": str(existing.runtime_status.name).lower()}
    await asyncio.to_thread(
        client.schedule_new_workflow,
        workflow=trading_cycle,
        input={
            "cycle_id": cycle_id,
            "strategy_id": body.strategy_id,
            "symbols": body.symbols,
            "as_of": at.isoformat(),
            "fill_timeout": body.fill_timeout,
        },
        instance_id=cycle_id,
    )
    log.info("cycle started", extra={"cycle_id": cycle_id, "strategy_id": body.strategy_id})
    return {"cycle_id": cycle_id, "status": "scheduled"}


@router.get("/cycles/{cycle_id}", responses={404: {"description": "No such cycle"}})
async def get_cycle(
    cycle_id: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")],
    request: Request,
) -> dict[str, Any]:
    client = request.app.state.workflow_client
    state = await asyncio.to_thread(client.get_workflow_state, cycle_id, fetch_payloads=True)
    if state is None:
        raise HTTPException(404, f"no cycle {cycle_id}")
    import json

    output = json.loads(state.serialized_output) if state.serialized_output else None
    return {
        "cycle_id": cycle_id,
        "status": str(state.runtime_status.name).lower(),
        "result": output,
        "error": str(state.failure_details.message) if state.failure_details else None,
    }
