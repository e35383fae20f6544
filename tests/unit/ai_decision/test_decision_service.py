"""The decision use case with scripted providers: accept/publish, reject/record, fail over,
circuit, budget, idempotent redelivery."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from ai_decision.adapters.local_provider import LocalModelProvider
from ai_decision.adapters.news import StaticNewsSource
from ai_decision.adapters.prompts import DEFAULT_PROMPTS_DIR, JinjaPromptRenderer
from ai_decision.domain.audit import DecisionStatus
from ai_decision.domain.commands import Task
from ai_decision.domain.context import Headline
from ai_decision.domain.pricing import DEFAULT_PRICES, PriceTable, TokenUsage
from ai_decision.domain.prompt import TemplateRef
from ai_decision.domain.routing import BudgetPolicy, CircuitPolicy, RoutingPolicy
from ai_decision.service.audit import AuditLog
from ai_decision.service.decisions import DecisionService, DecisionSettings, decision_id_for
from ai_decision.service.feature_store import FeatureStore
from ai_decision.service.ports import ProviderCall, ProviderError, ProviderReply
from ai_decision.service.routing import Router
from tests.unit.ai_decision.builders import T0, bar_event, bar_series, make_request, quote_event
from trader_common.adapters.inprocess import InMemoryEventBus, InMemoryStateStore
from trader_common.contracts import DecisionMade, Event, Topic
from trader_common.ports import PlatformUnavailableError

AS_OF = T0 + timedelta(days=1)
V1 = TemplateRef("decision", 1)


def hold(symbol: str = "AAPL") -> dict[str, Any]:
    return {
        "symbol": symbol,
        "action": "hold",
        "order_type": "market",
        "confidence": 0.6,
        "horizon": "1d",
        "rationale": "Mixed signals.",
    }


def reply(tool_input: object, **kw: Any) -> ProviderReply:
    defaults: dict[str, Any] = {
        "stop_reason": "tool_use",
        "usage": TokenUsage(1000, 100, 0, 2000),
        "model": "claude-haiku-4-5",
    }
    defaults.update(kw)
    return ProviderReply(tool_input=tool_input, **defaults)


@dataclass
class ScriptedProvider:
    """Answers from a script: a reply, an exception, or a function of the call."""

    script: list[Any] = field(default_factory=list)
    calls: list[ProviderCall] = field(default_factory=list)
    name: str = "claude"

    async def decide(self, call: ProviderCall) -> ProviderReply:
        self.calls.append(call)
        item = self.script.pop(0) if self.script else reply(hold(call.context.symbol))
        if isinstance(item, Exception):
            raise item
        if callable(item):
            result: ProviderReply = item(call)
            return result
        return item  # type: ignore[no-any-return]


class FlakyBus(InMemoryEventBus):
    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def publish(self, event: Event) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise PlatformUnavailableError("pubsub down")
        await super().publish(event)


@dataclass
class Harness:
    service: DecisionService
    claude: ScriptedProvider
    bus: InMemoryEventBus
    state: InMemoryStateStore
    clock: list[datetime]


async def harness(
    *,
    policy: RoutingPolicy | None = None,
    daily_usd: str | None = None,
    bus: InMemoryEventBus | None = None,
    news: dict[str, list[Headline]] | None = None,
    threshold: int = 2,
) -> Harness:
    state = InMemoryStateStore()
    bus = bus or InMemoryEventBus()
    clock = [datetime(2026, 3, 2, 15, tzinfo=UTC)]
    features = FeatureStore(state)
    bars = bar_series(80, seed=1)
    for b in bars:
        await features.ingest(bar_event("AAPL", b))
    await features.ingest(quote_event("AAPL", bars[-1].ts_close, "99.99", "100.01"))
    prices = PriceTable(DEFAULT_PRICES)
    claude = ScriptedProvider()
    router = Router(
        state,
        policy
        or RoutingPolicy(
            tasks={
                Task.FAST: ["claude:claude-haiku-4-5"],
                Task.DEEP: ["claude:claude-sonnet-4-6", "claude:claude-haiku-4-5"],
            }
        ),
        BudgetPolicy(daily_usd=None if daily_usd is None else Decimal(daily_usd)),
        CircuitPolicy(failure_threshold=threshold, open_seconds=60),
        prices,
        lambda: clock[0],
    )
    service = DecisionService(
        features=features,
        news=StaticNewsSource(news or {}),
        renderer=JinjaPromptRenderer(DEFAULT_PROMPTS_DIR, [V1]),
        providers={"claude": claude, "local": LocalModelProvider()},
        router=router,
        audit=AuditLog(state),
        publisher=bus,
        prices=prices,
        settings=DecisionSettings(templates=dict.fromkeys(Task, V1)),
        clock=lambda: clock[0],
    )
    return Harness(service, claude, bus, state, clock)


async def test_decision_accepted_is_published_on_ai_decisions_keyed_by_strategy() -> None:
    h = await harness()
    request = make_request(["AAPL"], as_of=AS_OF, strategy_id="momo-1")
    [outcome] = await h.service.handle(request)
    assert outcome.status == DecisionStatus.ACCEPTED and outcome.published
    [event] = h.bus.published
    assert isinstance(event, DecisionMade)
    assert event.topic == Topic.DECISIONS
    assert event.partition_key() == "momo-1"
    assert event.decision_id == outcome.decision_id == decision_id_for(request.request_id, "AAPL")
    assert (event.provider, event.model) == ("claude", "claude-haiku-4-5")
    assert event.ts_event == AS_OF
    assert event.prompt_template == "decision/v1" and event.prompt_sha256


async def test_decision_audit_records_prompt_usage_cost_and_latency() -> None:
    h = await harness()
    [outcome] = await h.service.handle(make_request(["AAPL"], as_of=AS_OF))
    record = await h.service.audit.get(outcome.decision_id)
    assert record is not None
    assert record.prompt_template == "decision/v1"
    assert record.prompt_sha256 == h.claude.calls[0].prompt.sha256
    assert record.usage == {
        "input_tokens": 1000,
        "output_tokens": 100,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 2000,
    }
    # haiku: 1000 x $1 + 100 x $5 + 2000 x $0.10 per million
    assert record.cost_usd == Decimal("0.001700")
    assert record.latency_ms >= 0
    assert record.context["features"]["bars"]["rsi_14"] is not None
    assert record.route["candidates"] == ["claude:claude-haiku-4-5", "local:ensemble-v1"]


async def test_decision_rejected_is_recorded_with_reason_and_never_published() -> None:
    h = await harness()
    h.claude.script.append(reply(hold("TSLA")))
    [outcome] = await h.service.handle(make_request(["AAPL"], as_of=AS_OF))
    assert outcome.status == DecisionStatus.REJECTED
    assert outcome.reasons == ("symbol 'TSLA' was not asked about (asked: AAPL)",)
    assert h.bus.published == []
    record = await h.service.audit.get(outcome.decision_id)
    assert record is not None and record.raw_output == hold("TSLA") and not record.published


@pytest.mark.parametrize(
    ("bad_reply", "reason"),
    [
        (reply(None, stop_reason="end_turn", text="I would buy."), "called no tool"),
        (reply({"action": "buy"}), "schema: symbol: Field required"),
        (reply(hold(), stop_reason="max_tokens"), "incomplete answer: stop_reason=max_tokens"),
        (reply({**hold(), "action": "buy", "quantity": 10_000}), "exceeds"),
    ],
    ids=["no-tool", "schema", "truncated", "risk"],
)
async def test_decision_each_rejection_path_is_recorded_not_published(
    bad_reply: ProviderReply, reason: str
) -> None:
    h = await harness()
    h.claude.script.append(bad_reply)
    [outcome] = await h.service.handle(make_request(["AAPL"], as_of=AS_OF))
    assert outcome.status == DecisionStatus.REJECTED
    assert any(reason in r for r in outcome.reasons), outcome.reasons
    assert h.bus.published == []


async def test_decision_provider_failure_falls_back_and_is_audited() -> None:
    h = await harness()
    h.claude.script.append(ProviderError("HTTP 529 overloaded_error", kind="overloaded"))
    [outcome] = await h.service.handle(make_request(["AAPL"], as_of=AS_OF))
    assert outcome.status == DecisionStatus.ACCEPTED
    assert outcome.provider == "local"
    record = await h.service.audit.get(outcome.decision_id)
    assert record is not None
    assert record.attempts[0].target == "claude:claude-haiku-4-5"
    assert "overloaded" in record.attempts[0].error


async def test_decision_provider_bug_is_contained_and_falls_back() -> None:
    h = await harness()
    h.claude.script.append(KeyError("oops"))
    [outcome] = await h.service.handle(make_request(["AAPL"], as_of=AS_OF))
    assert outcome.provider == "local"


async def test_decision_repeated_failures_open_circuit_and_route_to_fallback() -> None:
    h = await harness(threshold=2)
    h.claude.script.extend([ProviderError("down", kind="connection")] * 2)
    for _ in range(2):
        await h.service.handle(make_request(["AAPL"], as_of=AS_OF))
    calls = len(h.claude.calls)
    [outcome] = await h.service.handle(make_request(["AAPL"], as_of=AS_OF))
    assert len(h.claude.calls) == calls  # circuit open: claude not called
    assert outcome.provider == "local"
    record = await h.service.audit.get(outcome.decision_id)
    assert record is not None
    assert "circuit open after 2 failures" in record.route["skipped"][0]["reason"]
    h.clock[0] += timedelta(seconds=61)  # half-open: a trial call, which succeeds and closes
    [outcome] = await h.service.handle(make_request(["AAPL"], as_of=AS_OF))
    assert outcome.provider == "claude"


async def test_decision_budget_downgrades_then_falls_back() -> None:
    policy = RoutingPolicy(
        tasks={Task.DEEP: ["claude:claude-sonnet-4-6", "claude:claude-haiku-4-5"]}
    )
    h = await harness(policy=policy, daily_usd="0.01")
    expensive = reply(hold(), usage=TokenUsage(2700, 0), model="claude-sonnet-4-6")  # $0.0081
    h.claude.script.append(expensive)
    [first] = await h.service.handle(make_request(["AAPL"], as_of=AS_OF, task=Task.DEEP))
    assert first.model == "claude-sonnet-4-6"
    h.claude.script.append(reply(hold(), usage=TokenUsage(5000, 0)))  # haiku $0.005: spent
    [second] = await h.service.handle(make_request(["AAPL"], as_of=AS_OF, task=Task.DEEP))
    assert h.claude.calls[-1].model == "claude-haiku-4-5"  # downgraded past 80%
    assert second.status == DecisionStatus.ACCEPTED
    [third] = await h.service.handle(make_request(["AAPL"], as_of=AS_OF, task=Task.DEEP))
    assert third.provider == "local"  # spent: fall back
    assert len(h.claude.calls) == 2


async def test_decision_all_providers_failing_is_recorded_failed() -> None:
    policy = RoutingPolicy(
        tasks={Task.FAST: ["claude:claude-haiku-4-5"]}, fallback="claude:claude-sonnet-4-6"
    )
    h = await harness(policy=policy)
    h.claude.script.extend([ProviderError("a", kind="timeout"), ProviderError("b", kind="timeout")])
    [outcome] = await h.service.handle(make_request(["AAPL"], as_of=AS_OF))
    assert outcome.status == DecisionStatus.FAILED
    assert len(outcome.reasons) == 2
    assert h.bus.published == []
    assert await h.service.audit.get(outcome.decision_id) is not None


async def test_decision_redelivered_request_calls_no_model_and_publishes_once() -> None:
    h = await harness()
    request = make_request(["AAPL", "MSFT"], as_of=AS_OF)
    first = await h.service.handle(request)
    again = await h.service.handle(request)
    assert [o.decision_id for o in again] == [o.decision_id for o in first]
    assert len(h.claude.calls) == 2
    assert len(h.bus.published) == 2


async def test_decision_publish_outage_then_redelivery_publishes() -> None:
    bus = FlakyBus(failures=1)
    h = await harness(bus=bus)
    request = make_request(["AAPL"], as_of=AS_OF)
    with pytest.raises(PlatformUnavailableError):
        await h.service.handle(request)
    record = await h.service.audit.get(decision_id_for(request.request_id, "AAPL"))
    assert record is not None and record.status == DecisionStatus.ACCEPTED and not record.published
    [outcome] = await h.service.handle(request)
    assert outcome.published
    assert len(bus.published) == 1
    assert len(h.claude.calls) == 1


async def test_decision_context_has_no_news_or_bars_after_as_of() -> None:
    news = {
        "AAPL": [
            Headline(published_at=AS_OF - timedelta(hours=1), headline="old news"),
            Headline(published_at=AS_OF + timedelta(seconds=1), headline="future news"),
        ]
    }
    h = await harness(news=news)
    # bars after as_of exist in the store
    for b in bar_series(5, t0=AS_OF, seed=99):
        await h.service.features.ingest(bar_event("AAPL", b))
    await h.service.handle(make_request(["AAPL"], as_of=AS_OF, task=Task.DEEP))
    ctx = h.claude.calls[0].context
    assert [x.headline for x in ctx.headlines] == ["old news"]
    assert all(b.ts_close <= AS_OF for b in ctx.recent_bars)
    assert ctx.features.bars is not None and ctx.features.bars.as_of <= AS_OF
    assert "future news" not in h.claude.calls[0].prompt.user


async def test_decision_many_symbols_each_get_their_own_decision() -> None:
    h = await harness()
    symbols = [f"S{i}" for i in range(12)]
    outcomes = await h.service.handle(make_request(symbols, as_of=AS_OF))
    assert [o.symbol for o in outcomes] == symbols
    assert sorted(c.context.symbol for c in h.claude.calls) == sorted(symbols)
    listed = await h.service.audit.recent("momo-1", 100)
    assert {r.symbol for r in listed} == set(symbols)
