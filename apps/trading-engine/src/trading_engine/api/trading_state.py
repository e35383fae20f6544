"""/trading-state: active, reducing or halted; an operator resumes after a risk halt."""

from __future__ import annotations

from fastapi import APIRouter

from ..domain.commands import ResumeTrading
from .deps import ServiceDep
from .schemas import ResumeRequest, TradingStateOut

router = APIRouter(prefix="/trading-state", tags=["trading-state"])


def _state(service: ServiceDep) -> TradingStateOut:
    state = service.engine.state
    return TradingStateOut(
        trading_state=state.trading_state, breached_rules=tuple(sorted(state.breached_rules))
    )


@router.get("", summary="The trading state and the breached risk rules")
async def get_trading_state(service: ServiceDep) -> TradingStateOut:
    return _state(service)


@router.post(
    "/resume",
    summary="An operator resumes trading (to active or reducing)",
    responses={422: {"description": "Invalid target or missing operator/reason"}},
)
async def resume_trading(body: ResumeRequest, service: ServiceDep) -> TradingStateOut:
    await service.resume_trading(
        ResumeTrading(operator=body.operator, reason=body.reason, target=body.target)
    )
    return _state(service)
