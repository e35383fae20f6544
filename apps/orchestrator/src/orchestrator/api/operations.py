"""Operational state: GET /operations, POST /operations/{scope}/{command}, the kill switch."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from pydantic import BaseModel, Field, field_validator

from ..domain.operations import GLOBAL_SCOPE, OperatorCommand, TransitionRefusedError
from ..service.operations import OperationsService, OrderCanceller

router = APIRouter(tags=["operations"])


class Reason(BaseModel):
    reason: str = Field(min_length=1, max_length=500, description="Why; shown to every operator")

    @field_validator("reason")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("reason must say why: it is blank")
        return value


def get_operations(request: Request) -> OperationsService:
    service: OperationsService = request.app.state.operations
    return service


def get_canceller(request: Request) -> OrderCanceller:
    canceller: OrderCanceller = request.app.state.order_canceller
    return canceller


OperationsDep = Annotated[OperationsService, Depends(get_operations)]
ScopePath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9._-]+$",
        description="'global' or a strategy id",
    ),
]


@router.get("/operations", summary="Operational state, globally and per strategy")
async def get_state(operations: OperationsDep) -> dict[str, Any]:
    current = await operations.current()
    return {
        "global": current.state_of(GLOBAL_SCOPE).value,
        "strategies": {s: v for s, v in current.to_json().items() if s != GLOBAL_SCOPE},
    }


@router.post(
    "/operations/{scope}/{command}",
    summary="Pause, resume or halt trading (globally or for one strategy)",
    responses={409: {"description": "Not allowed from the current state"}},
)
async def change_state(
    scope: ScopePath, command: OperatorCommand, body: Reason, operations: OperationsDep
) -> dict[str, Any]:
    try:
        change = await operations.command(scope, command, body.reason)
    except TransitionRefusedError as exc:
        raise HTTPException(409, str(exc)) from None
    return {
        "scope": change.scope,
        "previous": change.previous.value,
        "current": change.current.value,
        "reason": change.reason,
        "at": change.at.isoformat(),
    }


@router.post(
    "/operations/kill-switch",
    summary="Halt all trading and cancel every open order",
)
async def kill_switch(
    body: Reason,
    operations: OperationsDep,
    canceller: Annotated[OrderCanceller, Depends(get_canceller)],
) -> dict[str, Any]:
    change, canceled = await operations.kill_switch(body.reason, canceller)
    return {"halted": True, "was_already_halted": change is None, "orders_canceled": canceled}
