"""The decision use case: for each symbol of a request — fuse the context, render the prompt,
route to a model, validate what it answers, record the audit, publish what is accepted.

Idempotent: a decision's id is derived from the request id and the symbol, so a redelivered
request finds its decisions already recorded and neither calls a model nor publishes twice (an
accepted decision whose publish did not go through is published on the redelivery).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid5

from pydantic import ValidationError

from trader_common.contracts import DecisionAction, DecisionMade, OrderType
from trader_common.ports import EventPublisher

from ..domain.audit import Attempt, AuditRecord, DecisionStatus, short_text
from ..domain.commands import RequestDecision, Task
from ..domain.context import DecisionContext, fuse
from ..domain.decision import Verdict, validate_decision
from ..domain.pricing import PriceTable, TokenUsage
from ..domain.prompt import RenderedPrompt, TemplateRef
from ..domain.routing import RoutePlan, Target
from .audit import AuditLog
from .feature_store import FeatureStore
from .ports import (
    DecisionProvider,
    NewsSource,
    NewsUnavailableError,
    PromptRenderer,
    ProviderCall,
    ProviderError,
    ProviderReply,
)
from .routing import Router

log = logging.getLogger(__name__)

#: A provider's error as the audit trail and the circuit keep it: at most this long, and text
#: UTF-8 can carry (an error may quote what the API answered).
MAX_ERROR_CHARS = 1000

DECISION_NAMESPACE = UUID("6f1c7a52-3d4e-4b8a-9c0d-2a5b7e9f1c3d")


def decision_id_for(request_id: UUID, symbol: str) -> UUID:
    return uuid5(DECISION_NAMESPACE, f"{request_id}/{symbol}")


@dataclass(frozen=True, slots=True)
class DecisionOutcome:
    decision_id: UUID
    symbol: str
    status: DecisionStatus
    reasons: tuple[str, ...] = ()
    provider: str | None = None
    model: str | None = None
    published: bool = False
    cost_usd: Decimal = Decimal("0")
    batch_id: str | None = None

    @classmethod
    def of(cls, record: AuditRecord) -> DecisionOutcome:
        return cls(
            decision_id=record.decision_id,
            symbol=record.symbol,
            status=record.status,
            reasons=tuple(record.reasons),
            provider=record.provider,
            model=record.model,
            published=record.published,
            cost_usd=record.cost_usd,
            batch_id=record.batch_id,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "decision_id": str(self.decision_id),
            "symbol": self.symbol,
            "status": str(self.status),
            "reasons": list(self.reasons),
            "provider": self.provider,
            "model": self.model,
            "published": self.published,
            "cost_usd": str(self.cost_usd),
            "batch_id": self.batch_id,
        }


@dataclass(frozen=True, slots=True)
class DecisionSettings:
    templates: Mapping[Task, TemplateRef]
    recent_bars: Mapping[Task, int] = field(
        default_factory=lambda: {Task.FAST: 5, Task.DEEP: 30, Task.OVERNIGHT: 30}
    )
    max_tokens: Mapping[Task, int] = field(
        default_factory=lambda: {Task.FAST: 512, Task.DEEP: 1024, Task.OVERNIGHT: 1024}
    )
    news_limit: Mapping[Task, int] = field(
        default_factory=lambda: {Task.FAST: 3, Task.DEEP: 10, Task.OVERNIGHT: 10}
    )
    max_concurrency: int = 4


@dataclass(frozen=True, slots=True)
class Prepared:
    """A decision ready to be asked: its id, context and prompt."""

    decision_id: UUID
    context: DecisionContext
    prompt: RenderedPrompt
    # set when restored from an audit record (overnight batches): what the model was shown then
    shown_sha256: str | None = None
    shown_system_sha256: str | None = None
    route: dict[str, Any] | None = None

    @property
    def prompt_sha256(self) -> str:
        return self.shown_sha256 or self.prompt.sha256

    @property
    def system_sha256(self) -> str:
        return self.shown_system_sha256 or self.prompt.system_sha256


class DecisionService:
    def __init__(
        self,
        *,
        features: FeatureStore,
        news: NewsSource,
        renderer: PromptRenderer,
        providers: Mapping[str, DecisionProvider],
        router: Router,
        audit: AuditLog,
        publisher: EventPublisher,
        prices: PriceTable,
        settings: DecisionSettings,
        clock: Callable[[], datetime],
    ) -> None:
        self.features = features
        self._news = news
        self._renderer = renderer
        self._providers = providers
        self.router = router
        self.audit = audit
        self._publisher = publisher
        self.prices = prices
        self._settings = settings
        self._clock = clock

    # --- the real-time path -------------------------------------------------------------------

    async def handle(self, request: RequestDecision) -> list[DecisionOutcome]:
        """Decide every symbol of ``request`` now (at most ``max_concurrency`` at a time)."""
        gate = asyncio.Semaphore(self._settings.max_concurrency)

        async def one(symbol: str) -> DecisionOutcome:
            async with gate:
                return await self.decide_one(request, symbol)

        return list(await asyncio.gather(*(one(s) for s in request.symbols)))

    async def decide_one(
        self, request: RequestDecision, symbol: str, plan: RoutePlan | None = None
    ) -> DecisionOutcome:
        decision_id = decision_id_for(request.request_id, symbol)
        existing = await self.audit.get(decision_id)
        if existing is not None:
            return await self.resume(existing)
        prepared = await self.prepare(request, symbol)
        plan = plan or await self.router.plan(request.strategy_id, request.task)
        attempts: list[Attempt] = []
        for target in plan.candidates:
            provider = self._providers.get(target.provider)
            if provider is None:
                attempts.append(Attempt(target=str(target), error="provider not configured"))
                continue
            started = time.perf_counter()
            try:
                reply = await provider.decide(
                    ProviderCall(
                        model=target.model,
                        prompt=prepared.prompt,
                        context=prepared.context,
                        max_tokens=self._settings.max_tokens.get(request.task, 1024),
                    )
                )
            except ProviderError as exc:
                error = short_text(f"{exc.kind}: {exc}", MAX_ERROR_CHARS)
            except Exception as exc:  # a provider bug must not lose the decision
                log.exception("provider raised", extra={"target": str(target)})
                error = short_text(f"unexpected {type(exc).__name__}: {exc}", MAX_ERROR_CHARS)
            else:
                cost = self.prices.cost(target.provider, target.model, reply.usage)
                await self.router.record_success(target, cost, reply.usage)
                return await self.finalize(prepared, plan, attempts, target, reply, cost)
            latency = (time.perf_counter() - started) * 1000
            attempts.append(Attempt(target=str(target), error=error, latency_ms=round(latency, 3)))
            await self.router.record_failure(target, error)
        reasons = [f"no model could decide: {a.target}: {a.error}" for a in attempts] or [
            "no model available: " + "; ".join(f"{t}: {why}" for t, why in plan.skipped)
        ]
        record = self.record_for(prepared, plan, attempts, DecisionStatus.FAILED, reasons)
        await self.audit.save(record)
        log.warning("decision failed", extra={"decision_id": str(decision_id), "reasons": reasons})
        return DecisionOutcome.of(record)

    async def resume(self, record: AuditRecord) -> DecisionOutcome:
        """A redelivered decision: publish it if an earlier publish did not go through."""
        if record.status == DecisionStatus.ACCEPTED and not record.published and record.decision:
            await self._publisher.publish(DecisionMade.model_validate(record.decision))
            record = record.model_copy(update={"published": True})
            await self.audit.save(record)
        return DecisionOutcome.of(record)

    # --- shared with the overnight path -------------------------------------------------------

    async def prepare(self, request: RequestDecision, symbol: str) -> Prepared:
        task = request.task
        features, bars = await self.features.read(
            symbol, request.as_of, self._settings.recent_bars.get(task, 0)
        )
        limit = self._settings.news_limit.get(task, 0)
        try:
            headlines = (
                await self._news.headlines(symbol, request.as_of, limit) if limit > 0 else []
            )
            news_status = "ok" if limit > 0 else "not requested"
        except NewsUnavailableError as exc:
            headlines, news_status = [], f"unavailable: {exc}"
        context = fuse(request, symbol, features, bars, headlines, news_status)
        prompt = self._renderer.render(self._settings.templates[task], context)
        return Prepared(decision_id_for(request.request_id, symbol), context, prompt)

    def record_for(
        self,
        prepared: Prepared,
        plan: RoutePlan | None,
        attempts: list[Attempt],
        status: DecisionStatus,
        reasons: list[str],
        **extra: Any,
    ) -> AuditRecord:
        ctx = prepared.context
        return AuditRecord(
            decision_id=prepared.decision_id,
            request_id=ctx.request_id,
            strategy_id=ctx.strategy_id,
            symbol=ctx.symbol,
            as_of=ctx.as_of,
            task=ctx.task,
            status=status,
            reasons=reasons,
            prompt_template=str(prepared.prompt.template),
            prompt_sha256=prepared.prompt_sha256,
            system_prompt_sha256=prepared.system_sha256,
            prompt_user=prepared.prompt.user,
            attempts=attempts,
            route=prepared.route or {}
            if plan is None
            else {
                "candidates": [str(t) for t in plan.candidates],
                "skipped": [{"target": str(t), "reason": why} for t, why in plan.skipped],
                "budget_level": str(plan.budget_level),
            },
            context=ctx.to_json(),
            recorded_at=self._clock(),
            **extra,
        )

    def _verdict(self, reply: ProviderReply, ctx: DecisionContext) -> Verdict:
        if reply.tool_input is None:
            text = f": {reply.text[:200]!r}" if reply.text else ""
            return Verdict(
                None,
                (f"no decision: the model called no tool (stop_reason={reply.stop_reason}){text}",),
            )
        verdict = validate_decision(reply.tool_input, ctx)
        if reply.stop_reason in ("max_tokens", "refusal", "model_context_window_exceeded"):
            reason = f"incomplete answer: stop_reason={reply.stop_reason}"
            return Verdict(verdict.proposal, (reason, *verdict.reasons))
        return verdict

    def _event(
        self, verdict: Verdict, prepared: Prepared, target: Target, reply: ProviderReply
    ) -> DecisionMade:
        proposal = verdict.proposal
        assert proposal is not None
        ctx = prepared.context
        return DecisionMade(
            event_id=uuid5(prepared.decision_id, "decision-made"),
            ts_event=ctx.as_of,
            ts_recorded=self._clock(),
            decision_id=prepared.decision_id,
            request_id=ctx.request_id,
            strategy_id=ctx.strategy_id,
            symbol=ctx.symbol,
            action=DecisionAction(proposal.action),
            qty=proposal.quantity,
            target_weight=proposal.target_weight,
            order_type=OrderType(proposal.order_type),
            limit_price=proposal.limit_price,
            confidence=proposal.confidence,
            horizon=proposal.horizon,
            rationale=proposal.rationale,
            provider=target.provider,
            model=reply.model or target.model,
            task=str(ctx.task),
            prompt_template=str(prepared.prompt.template),
            prompt_sha256=prepared.prompt_sha256,
        )

    async def finalize(
        self,
        prepared: Prepared,
        plan: RoutePlan | None,
        attempts: list[Attempt],
        target: Target,
        reply: ProviderReply,
        cost: Decimal,
        batch_id: str | None = None,
    ) -> DecisionOutcome:
        """Validate a reply, record it, and publish it when accepted."""
        verdict = self._verdict(reply, prepared.context)
        event: DecisionMade | None = None
        reasons = list(verdict.reasons)
        if verdict.accepted:
            try:
                event = self._event(verdict, prepared, target, reply)
            except ValidationError as exc:
                reasons.append(f"does not fit the DecisionMade contract: {exc.errors()[0]['msg']}")
        status = DecisionStatus.ACCEPTED if event is not None else DecisionStatus.REJECTED
        record = self.record_for(
            prepared,
            plan,
            attempts,
            status,
            reasons,
            decision=None if event is None else event.payload(),
            raw_output=reply.tool_input,
            stop_reason=reply.stop_reason,
            provider=target.provider,
            model=reply.model or target.model,
            usage=reply.usage.to_json(),
            cost_usd=cost,
            latency_ms=round(reply.latency_ms, 3),
            batch_id=batch_id,
        )
        await self.audit.save(record)
        if event is None:
            log.info(
                "decision rejected",
                extra={"decision_id": str(prepared.decision_id), "reasons": "; ".join(reasons)},
            )
            return DecisionOutcome.of(record)
        await self._publisher.publish(event)
        record = record.model_copy(update={"published": True})
        await self.audit.save(record)
        return DecisionOutcome.of(record)

    def usage_cost(self, target: Target, usage: TokenUsage, *, batch: bool = False) -> Decimal:
        return self.prices.cost(target.provider, target.model, usage, batch=batch)
