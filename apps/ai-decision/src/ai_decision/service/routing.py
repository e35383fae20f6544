"""The router: plans which models to try, keeping the day's budget and each model's circuit in
the state store (``budget:<YYYY-MM-DD>``, ``circuit:<provider>:<model>``) so that any replica —
or a process woken from zero — routes the same way."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from trader_common.ports import StateStore

from ..domain.commands import Task
from ..domain.pricing import PriceTable, TokenUsage
from ..domain.routing import (
    BudgetPolicy,
    BudgetState,
    CircuitPolicy,
    CircuitState,
    RoutePlan,
    RoutingPolicy,
    Target,
    plan_route,
)
from .state import update

BUDGET_TTL_SECONDS = 3 * 86_400


def budget_key(day: str) -> str:
    return f"budget:{day}"


def circuit_key(target: Target) -> str:
    return f"circuit:{target.provider}:{target.model}"


class Router:
    def __init__(
        self,
        state: StateStore,
        policy: RoutingPolicy,
        budget: BudgetPolicy,
        circuit: CircuitPolicy,
        prices: PriceTable,
        clock: Callable[[], datetime],
    ) -> None:
        self._state = state
        self.policy = policy
        self._budget = budget
        self._circuit = circuit
        self._prices = prices
        self._clock = clock

    async def budget_today(self) -> BudgetState:
        today = self._clock().date()
        item = await self._state.get(budget_key(today.isoformat()))
        if item is None or not isinstance(item.value, dict):
            return BudgetState(day=today)
        return BudgetState.from_json(item.value)

    async def circuit(self, target: Target) -> CircuitState:
        item = await self._state.get(circuit_key(target))
        if item is None or not isinstance(item.value, dict):
            return CircuitState()
        return CircuitState.from_json(item.value)

    async def plan(self, strategy_id: str, task: Task) -> RoutePlan:
        chain = self.policy.chain(strategy_id, task)
        budget = await self.budget_today()
        circuits = await asyncio.gather(*(self.circuit(t) for t in chain))
        states = dict(zip(chain, circuits, strict=True))
        return plan_route(
            chain, budget.level(self._budget), states, self._clock(), self._prices, self._circuit
        )

    async def record_success(self, target: Target, cost: Decimal, usage: TokenUsage) -> None:
        if not self._prices.price(target.provider, target.model).free:
            today = self._clock().date()

            def charge(value: Any) -> tuple[Any, None]:
                current = (
                    BudgetState.from_json(value) if isinstance(value, dict) else BudgetState(today)
                )
                return current.charge(cost, usage).to_json(), None

            await update(
                self._state, budget_key(today.isoformat()), charge, ttl_seconds=BUDGET_TTL_SECONDS
            )

        def close(value: Any) -> tuple[Any, None]:
            if not isinstance(value, dict) or CircuitState.from_json(value) == CircuitState():
                return None, None
            return CircuitState().to_json(), None

        await update(self._state, circuit_key(target), close)

    async def record_failure(self, target: Target, error: str) -> CircuitState:
        now = self._clock()

        def fail(value: Any) -> tuple[Any, CircuitState]:
            current = CircuitState.from_json(value) if isinstance(value, dict) else CircuitState()
            new = current.failed(now, self._circuit, error)
            return new.to_json(), new

        return await update(self._state, circuit_key(target), fail)

    async def status(self) -> dict[str, Any]:
        """Budget spent today and the health of every configured target."""
        now = self._clock()
        budget = await self.budget_today()
        targets = self.policy.all_targets()
        circuits = await asyncio.gather(*(self.circuit(t) for t in targets))
        return {
            "budget": {
                **budget.to_json(),
                "level": str(budget.level(self._budget)),
                "daily_usd": None
                if self._budget.daily_usd is None
                else str(self._budget.daily_usd),
                "daily_tokens": self._budget.daily_tokens,
                "downgrade_at": str(self._budget.downgrade_at),
            },
            "targets": [
                {"target": str(t), "circuit": c.status(now, self._circuit), **c.to_json()}
                for t, c in zip(targets, circuits, strict=True)
            ],
        }
