"""Entry point of a decision request: real time, or queued overnight in a batch when the task is
``overnight`` and the route's first model can be batched."""

from __future__ import annotations

from ..domain.commands import RequestDecision, Task
from .batches import OvernightBatches
from .decisions import DecisionOutcome, DecisionService


class DecisionRequests:
    def __init__(
        self,
        decisions: DecisionService,
        batches: OvernightBatches | None = None,
        batch_providers: frozenset[str] = frozenset({"claude"}),
    ) -> None:
        self.decisions = decisions
        self.batches = batches
        self._batch_providers = batch_providers

    async def handle(self, request: RequestDecision) -> list[DecisionOutcome]:
        if request.task == Task.OVERNIGHT and self.batches is not None:
            plan = await self.decisions.router.plan(request.strategy_id, request.task)
            if plan.candidates and plan.candidates[0].provider in self._batch_providers:
                return await self.batches.submit(request, plan)
        return await self.decisions.handle(request)
