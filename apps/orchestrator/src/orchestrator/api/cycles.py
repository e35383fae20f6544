"""Trading cycles: start one (POST /cycles), follow it (GET /cycles/{id}), list the recent ones
with how they ended (GET /cycles)."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import AwareDatetime, BaseModel, Field

from trader_common.contracts import DecisionRiskLimits, utc_now

from ..adapters.workflow import trading_cycle
from ..adapters.workflow_states import workflow_state
from ..domain.cycle_log import DEFAULT_KEEP, CycleRecord
from ..service.cycles import CycleLog

log = logging.getLogger(__name__)
router = APIRouter(tags=["cycles"])


def cycle_log(request: Request) -> CycleLog:
    log_: CycleLog = request.app.state.cycle_log
    return log_


CycleLogDep = Annotated[CycleLog, Depends(cycle_log)]


async def launch(request: Request, record: CycleRecord, as_of: datetime, **options: Any) -> None:
    """Schedule the cycle's workflow (instance id = cycle id) and add it to the cycle log."""
    await asyncio.to_thread(
        request.app.state.workflow_client.schedule_new_workflow,
        workflow=trading_cycle,
        input={
            "cycle_id": record.cycle_id,
            "strategy_id": record.strategy_id,
            "symbols": list(record.symbols),
            "as_of": as_of.isoformat(),
            **options,
        },
        instance_id=record.cycle_id,
    )
    log.info(
        "cycle started",
        extra={"cycle_id": record.cycle_id, "strategy_id": record.strategy_id},
    )
    await record_started(cycle_log(request), record)


async def record_started(cycles: CycleLog, record: CycleRecord) -> None:
    """Add a started cycle to the log; a failure is logged, never fails the start (the
    workflow already runs)."""
    try:
        await cycles.started(record)
    except Exception:
        log.warning(
            "cycle not recorded in the cycle log",
            extra={"cycle_id": record.cycle_id},
            exc_info=True,
        )


Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
SymbolName = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Z0-9./:-]+$")]


class StartCycle(BaseModel):
    strategy_id: Name
    symbols: list[SymbolName] = Field(min_length=1, max_length=200)
    cycle_id: Name | None = Field(
        default=None, description="Idempotency key: the same id never runs twice"
    )
    fill_timeout: int = Field(
        default=30,
        ge=0,
        le=3600,
        description="Seconds to wait for fills before canceling what is left open; 0: do not "
        "wait and leave the orders working (daily strategies whose market orders fill at the "
        "next bar's open)",
    )
    as_of: AwareDatetime | None = Field(
        default=None,
        description="The decision time (replay and dual-run); default now. Decisions see only "
        "data up to it.",
    )
    risk_limits: DecisionRiskLimits | None = Field(
        default=None,
        description="Risk limits for the decisions; checked here, so a bad one is a 422 now, "
        "not a failed cycle later",
    )


@router.post("/cycles", status_code=202, responses={409: {"description": "Trading not allowed"}})
async def start_cycle(body: StartCycle, request: Request) -> dict[str, Any]:
    operations = await request.app.state.operations.current()
    if not operations.may_trade(body.strategy_id):
        raise HTTPException(409, f"strategy {body.strategy_id} may not trade now (paused/halted)")
    at = utc_now()
    cycle_id = body.cycle_id or f"{body.strategy_id}-{at.strftime('%Y%m%dT%H%M%S%f')}"
    client = request.app.state.workflow_client
    existing = await workflow_state(client, cycle_id, fetch_payloads=False)
    if existing is not None:
        return {"cycle_id": cycle_id, "status": str(existing.runtime_status.name).lower()}
    await launch(
        request,
        CycleRecord(cycle_id, body.strategy_id, tuple(body.symbols), at, trigger="request"),
        body.as_of or at,
        fill_timeout=body.fill_timeout,
        risk_limits=None
        if body.risk_limits is None
        else body.risk_limits.model_dump(mode="json", exclude_unset=True),
    )
    return {"cycle_id": cycle_id, "status": "scheduled"}


@router.get("/cycles", summary="Recent cycles, oldest first; those that ended with their outcome")
async def list_cycles(
    cycles: CycleLogDep,
    since: Annotated[
        AwareDatetime | None, Query(description="Only cycles started at or after (ISO 8601)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=DEFAULT_KEEP)] = DEFAULT_KEEP,
) -> list[dict[str, Any]]:
    return [record.to_json() for record in await cycles.recent(since, limit)]


@router.get("/cycles/{cycle_id}", responses={404: {"description": "No such cycle"}})
async def get_cycle(
    cycle_id: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")],
    request: Request,
) -> dict[str, Any]:
    client = request.app.state.workflow_client
    state = await workflow_state(client, cycle_id, fetch_payloads=True)
    if state is None:
        raise HTTPException(404, f"no cycle {cycle_id}")
    output = json.loads(state.serialized_output) if state.serialized_output else None
    return {
        "cycle_id": cycle_id,
        "status": str(state.runtime_status.name).lower(),
        "result": output,
        "error": str(state.failure_details.message) if state.failure_details else None,
    }
