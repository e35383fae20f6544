"""Overnight analysis through a batch API (Claude's Message Batches: half price, within 24h).

``submit`` prepares every symbol's context and prompt, sends them as one batch and records each
decision as *queued* (with the exact context the model is shown). ``collect`` — called by a
scheduler, idempotent — reads the results once the batch has ended and validates, records and
publishes each decision as the real-time path does. Batch state lives in the state store:
``batch:<id>`` and the list of open batches ``batches:open``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from trader_common.ports import StateStore

from ..domain.audit import AuditRecord, DecisionStatus, short_text
from ..domain.commands import RequestDecision
from ..domain.context import context_from_json
from ..domain.prompt import RenderedPrompt, TemplateRef
from ..domain.routing import RoutePlan, Target
from .decisions import MAX_ERROR_CHARS, DecisionOutcome, DecisionService, Prepared
from .ports import BatchProvider, ProviderCall, ProviderError
from .state import update

log = logging.getLogger(__name__)

OPEN_BATCHES_KEY = "batches:open"


def batch_key(batch_id: str) -> str:
    return f"batch:{batch_id}"


class BatchNotFoundError(LookupError):
    pass


class OvernightBatches:
    def __init__(
        self,
        decisions: DecisionService,
        provider: BatchProvider,
        state: StateStore,
        clock: Callable[[], datetime],
    ) -> None:
        self._decisions = decisions
        self._provider = provider
        self._state = state
        self._clock = clock

    async def submit(self, request: RequestDecision, plan: RoutePlan) -> list[DecisionOutcome]:
        """Queue ``request`` in one batch on the plan's first target (a batch-capable model)."""
        target = plan.candidates[0]
        audit = self._decisions.audit
        outcomes: list[DecisionOutcome] = []
        pending: list[Prepared] = []
        for symbol in request.symbols:
            prepared = await self._decisions.prepare(request, symbol)
            existing = await audit.get(prepared.decision_id)
            if existing is not None:  # redelivered: already queued or decided
                outcomes.append(await self._decisions.resume(existing))
            else:
                pending.append(prepared)
        if not pending:
            return outcomes
        calls = [
            (
                p.decision_id.hex,
                ProviderCall(
                    model=target.model, prompt=p.prompt, context=p.context, max_tokens=1024
                ),
            )
            for p in pending
        ]
        try:
            batch_id = await self._provider.submit(target.model, calls)
        except ProviderError as exc:
            log.warning("batch submit failed; deciding now", extra={"reason": str(exc)})
            await self._decisions.router.record_failure(target, f"{exc.kind}: {exc}")
            rest = RoutePlan(plan.candidates[1:], plan.skipped, plan.budget_level)
            for p in pending:
                outcomes.append(await self._decisions.decide_one(request, p.context.symbol, rest))
            return outcomes
        await self._state.save(
            batch_key(batch_id),
            {
                "batch_id": batch_id,
                "target": str(target),
                "submitted_at": self._clock().isoformat(),
                "request_id": str(request.request_id),
                "strategy_id": request.strategy_id,
                "decision_ids": [str(p.decision_id) for p in pending],
                "collected": False,
            },
        )

        def add_open(value: Any) -> tuple[Any, None]:
            ids = list(value) if isinstance(value, list) else []
            return ([*ids, batch_id] if batch_id not in ids else None), None

        await update(self._state, OPEN_BATCHES_KEY, add_open)
        for p in pending:
            record = self._decisions.record_for(
                p,
                plan,
                [],
                DecisionStatus.QUEUED,
                [],
                provider=target.provider,
                model=target.model,
                batch_id=batch_id,
            )
            await audit.save(record)
            outcomes.append(DecisionOutcome.of(record))
        return outcomes

    async def get(self, batch_id: str) -> dict[str, Any]:
        item = await self._state.get(batch_key(batch_id))
        if item is None or not isinstance(item.value, dict):
            raise BatchNotFoundError(f"no overnight batch {batch_id!r}")
        return dict(item.value)

    async def open_batches(self) -> list[str]:
        item = await self._state.get(OPEN_BATCHES_KEY)
        return [str(b) for b in item.value] if item and isinstance(item.value, list) else []

    async def collect(self, batch_id: str) -> dict[str, Any]:
        """Collect an ended batch: every queued decision in it is validated, recorded and (if
        accepted) published. Safe to call again: decisions already collected are left alone."""
        batch = await self.get(batch_id)
        if batch.get("collected"):
            return {"batch_id": batch_id, "status": "collected", **batch.get("summary", {})}
        try:
            status = await self._provider.status(batch_id)
        except ProviderError as exc:
            return {"batch_id": batch_id, "status": "unreachable", "detail": str(exc)}
        if not status.ended:
            return {
                "batch_id": batch_id,
                "status": status.processing_status,
                "counts": status.counts,
            }
        try:
            results = {r.custom_id: r for r in await self._provider.results(batch_id)}
        except ProviderError as exc:
            return {"batch_id": batch_id, "status": "unreachable", "detail": str(exc)}
        target = Target.parse(str(batch["target"]))
        summary = {"accepted": 0, "rejected": 0, "failed": 0}
        for decision_id in (UUID(d) for d in batch["decision_ids"]):
            record = await self._decisions.audit.get(decision_id)
            if record is None or record.status != DecisionStatus.QUEUED:
                if record is not None:
                    summary[str(record.status)] = summary.get(str(record.status), 0) + 1
                continue
            outcome = await self._collect_one(record, results.get(decision_id.hex), target)
            summary[str(outcome.status)] = summary.get(str(outcome.status), 0) + 1
        await self._state.save(
            batch_key(batch_id), {**batch, "collected": True, "summary": summary}
        )

        def remove_open(value: Any) -> tuple[Any, None]:
            ids = list(value) if isinstance(value, list) else []
            return ([b for b in ids if b != batch_id] if batch_id in ids else None), None

        await update(self._state, OPEN_BATCHES_KEY, remove_open)
        return {"batch_id": batch_id, "status": "collected", **summary}

    async def collect_open(self) -> list[dict[str, Any]]:
        return [await self.collect(batch_id) for batch_id in await self.open_batches()]

    async def _collect_one(
        self, record: AuditRecord, result: Any, target: Target
    ) -> DecisionOutcome:
        prepared = Prepared(
            decision_id=record.decision_id,
            context=context_from_json(record.context),
            prompt=RenderedPrompt(
                template=TemplateRef.parse(record.prompt_template or "unknown/v1"),
                system="",
                user=record.prompt_user or "",
            ),
            shown_sha256=record.prompt_sha256,
            shown_system_sha256=record.system_prompt_sha256,
            route=record.route,
        )
        if result is None or result.reply is None:
            reason = "no result in the batch" if result is None else str(result.error)
            failed = record.model_copy(  # no validation here: the reason must be storable as is
                update={
                    "status": DecisionStatus.FAILED,
                    "reasons": [short_text(f"batch item failed: {reason}", MAX_ERROR_CHARS)],
                    "recorded_at": self._clock(),
                }
            )
            await self._decisions.audit.save(failed)
            return DecisionOutcome.of(failed)
        reply = result.reply
        cost: Decimal = self._decisions.usage_cost(target, reply.usage, batch=True)
        await self._decisions.router.record_success(target, cost, reply.usage)
        return await self._decisions.finalize(
            prepared, None, [], target, reply, cost, batch_id=record.batch_id
        )
