"""GET /account: cash, equity, buying power, P&L, risk state."""

from __future__ import annotations

from fastapi import APIRouter

from .deps import ServiceDep
from .schemas import AccountOut

router = APIRouter(tags=["account"])


@router.get("/account", summary="The paper account")
async def get_account(service: ServiceDep) -> AccountOut:
    return AccountOut.model_validate(service.engine.account())
