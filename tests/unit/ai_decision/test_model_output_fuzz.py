"""Property-based fuzzing of what ai-decision does with a model's answer.

The rule: whatever a model answers — any JSON in the tool input (wrong types, missing or extra
fields, NaN / Infinity / "1e999999", negative or huge quantities, confidence outside [0, 1],
unknown actions, symbols and order types, limit prices far off, deeply nested junk, lone
surrogates), text instead of a tool call, a truncated answer, a body that is not the documented
message at all — becomes either a decision that keeps every rule of the request's
``RiskLimits`` (only the symbol asked about, quantities within the limits, finite Decimals) or a
rejection recorded with clear reasons (or, where the provider could not answer, a fall-back to
the local model). Never an unhandled exception, never an out-of-limits decision published.

Driven at three levels:

- the pure functions (``validate_decision``, ``reply_from_message``) with many examples;
- the decision use case (real-time and overnight batch) with a scripted provider and state /
  pub/sub as strict as the Dapr adapters (JSON, UTF-8, no NaN);
- end to end through the real ``anthropic`` SDK against the loopback fake Messages API
  (tests/fakes/anthropic_api.py), a few dozen examples.

Then one explicit regression test per bug the fuzzing found.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ai_decision.adapters.anthropic_provider import (
    ClaudeBatchProvider,
    ClaudeProvider,
    client_factory,
    reply_from_message,
)
from ai_decision.adapters.local_provider import LocalModelProvider
from ai_decision.adapters.news import StaticNewsSource
from ai_decision.adapters.prompts import DEFAULT_PROMPTS_DIR, JinjaPromptRenderer
from ai_decision.domain.audit import AuditRecord, DecisionStatus
from ai_decision.domain.commands import RequestDecision, RiskLimits, Task
from ai_decision.domain.context import DecisionContext, context_from_json
from ai_decision.domain.decision import MAX_MODEL_NUMBER, validate_decision
from ai_decision.domain.pricing import DEFAULT_PRICES, PriceTable, TokenUsage
from ai_decision.domain.prompt import TemplateRef
from ai_decision.domain.routing import BudgetPolicy, CircuitPolicy, RoutingPolicy
from ai_decision.service.audit import AuditLog
from ai_decision.service.batches import OvernightBatches
from ai_decision.service.decisions import (
    DecisionOutcome,
    DecisionService,
    DecisionSettings,
    decision_id_for,
)
from ai_decision.service.feature_store import FeatureStore
from ai_decision.service.ports import (
    BatchItemResult,
    BatchStatus,
    ProviderCall,
    ProviderError,
    ProviderReply,
)
from ai_decision.service.routing import Router
from tests.fakes.anthropic_api import (
    FakeAnthropicAPI,
    Scripted,
    raw_body,
    running_fake,
    text_only,
    tool_use,
)
from tests.support.fuzz import (
    NASTY_NUMBER_VALUES,
    NASTY_NUMBERS,
    NASTY_TEXT,
    JsonEventBus,
    JsonStateStore,
    json_values,
    near_valid,
)
from tests.unit.ai_decision.builders import (
    T0,
    bar_event,
    bar_series,
    make_context,
    make_request,
    quote_event,
)
from trader_common.contracts import DecisionMade, OrderType

PURE = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
MESSAGES = settings(PURE, max_examples=150)
SERVICE = settings(PURE, max_examples=50)
BATCH = settings(PURE, max_examples=30)
WIRE = settings(PURE, max_examples=15)
WIRE_BATCH = settings(PURE, max_examples=8)

AS_OF = T0 + timedelta(days=1)
BARS = bar_series(40, seed=5, t0=AS_OF - timedelta(minutes=41))
V1 = TemplateRef("decision", 1)
HAIKU = "claude:claude-haiku-4-5"
SONNET = "claude:claude-sonnet-4-6"
MAX_REASON_CHARS = 2500  # the longest: a text answer quoted (200 characters, escaped)
MAX_REASONS = 25

# --- what a model may answer ------------------------------------------------------------------

VALID_ANSWERS: tuple[dict[str, Any], ...] = (
    {
        "symbol": "AAPL",
        "action": "buy",
        "quantity": 10,
        "order_type": "market",
        "confidence": 0.7,
        "horizon": "5d",
        "rationale": "Trend up on rising volume.",
    },
    {
        "symbol": "AAPL",
        "action": "sell",
        "quantity": 5,
        "order_type": "limit",
        "limit_price": 99.5,
        "confidence": 0.6,
        "horizon": "1d",
        "rationale": "Stretched; taking some off.",
    },
    {
        "symbol": "AAPL",
        "action": "buy",
        "target_weight": 0.05,
        "order_type": "market",
        "confidence": 0.8,
        "horizon": "2w",
        "rationale": "Sized by volatility.",
    },
    {
        "symbol": "AAPL",
        "action": "hold",
        "order_type": "market",
        "confidence": 0.5,
        "horizon": "1d",
        "rationale": "Mixed signals.",
    },
)

ODD_NUMBERS: tuple[Any, ...] = (
    *NASTY_NUMBERS,
    *NASTY_NUMBER_VALUES,
    "1e15",
    "1000000000000001",
    "1e-19",
    "0.1000000000000000000000000000000000001",
    1e-300,
    5e-324,
    "1" + "0" * 60,
)


PRICES = ("0.05", "3", "100", "100", "65000.5")  # the reference prices of the contexts


def sizes() -> st.SearchStrategy[Any]:
    """A quantity as a model writes one: whole shares, fractions, text."""
    return st.one_of(
        st.integers(1, 60),
        st.integers(1, 60),
        st.integers(1, 5000),
        st.floats(0.001, 50),
        st.decimals(Decimal("0.0001"), Decimal("1e6"), places=4).map(str),
    )


@st.composite
def well_formed_answers(draw: st.DrawFn) -> dict[str, Any]:
    """A decision that passes the schema: sizes, weights and limit prices anywhere from well
    within the risk limits to far outside them."""
    action = draw(st.sampled_from(("buy", "buy", "sell", "sell", "hold")))
    order_type = draw(st.sampled_from(("market", "market", "limit")))
    answer: dict[str, Any] = {
        "symbol": "AAPL",
        "action": action,
        "order_type": order_type if action != "hold" else "market",
        "confidence": draw(
            st.one_of(st.floats(0, 1), st.decimals(0, 1, places=3).map(str), st.just(1))
        ),
        "horizon": draw(st.sampled_from(("1d", "5d", "2w"))),
        "rationale": "Momentum with volume; RSI leaves room.",
    }
    if action == "hold":
        return answer
    size = draw(st.sampled_from(("quantity", "quantity", "target_weight", "both")))
    if size in ("quantity", "both"):
        answer["quantity"] = draw(sizes())
    if size in ("target_weight", "both"):
        answer["target_weight"] = draw(st.floats(-0.1, 0.1) | st.floats(-0.6, 0.6))
    if order_type == "limit":
        price = float(draw(st.sampled_from(PRICES)))
        answer["limit_price"] = draw(st.floats(price * 0.9, price * 1.1) | st.floats(0.01, 1e5))
    return answer


ODD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "symbol": st.sampled_from(("MSFT", "aapl", "AAPL ", "", "A" * 40, "\ud800", 7)),
    "action": st.sampled_from(("BUY", "short", "strong buy", "", None, 1)),
    "order_type": st.sampled_from(("stop", "MARKET", "", None)),
    "horizon": st.sampled_from(("", "x" * 40, None, 5)),
    "rationale": st.sampled_from(("", "x" * 2001, None, "\ud800", ["a"])),
    "quantity": st.one_of(st.sampled_from(ODD_NUMBERS), st.integers(-10, 0), st.integers()),
    "target_weight": st.one_of(st.sampled_from(ODD_NUMBERS), st.floats(-5, 5)),
    "limit_price": st.one_of(st.sampled_from(ODD_NUMBERS), st.floats(-1e6, 1e9)),
    "confidence": st.one_of(st.sampled_from(ODD_NUMBERS), st.floats(-2, 3)),
}


@st.composite
def plausible_answers(draw: st.DrawFn) -> dict[str, Any]:
    """A well-formed decision with one or two things wrong: a field missing, out of range, of
    the wrong type or odd; an unknown action, symbol or order type; an extra field."""
    answer = draw(well_formed_answers())
    for _ in range(draw(st.integers(1, 2))):
        name = draw(
            st.sampled_from((*sorted(answer), "quantity", "target_weight", "limit_price", "extra"))
        )
        how = draw(st.sampled_from(("drop", "odd", "odd", "junk")))
        if name == "extra":
            answer[draw(st.sampled_from((*NASTY_TEXT, "leverage")))] = draw(json_values())
        elif how == "drop":
            answer.pop(name, None)
        elif how == "junk":
            answer[name] = draw(json_values())
        else:
            answer[name] = draw(ODD_VALUES.get(name, st.sampled_from(ODD_NUMBERS)))
    return answer


def nested(depth: int, leaf: Any = 1) -> Any:
    value: Any = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"a": value}
    return value


def answers() -> st.SearchStrategy[Any]:
    """Any tool input: near right, a valid answer mutated anywhere, any JSON, deep junk."""
    return st.one_of(
        well_formed_answers(),
        well_formed_answers(),
        well_formed_answers(),
        plausible_answers(),
        plausible_answers(),
        st.sampled_from(VALID_ANSWERS).flatmap(near_valid),
        json_values(),
        st.builds(nested, st.integers(40, 400), json_values(4)),
        st.builds(lambda a, d: {**a, "junk": nested(d)}, plausible_answers(), st.integers(1, 300)),
    )


STOP_REASONS: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(
        ("tool_use", "tool_use", "tool_use", "end_turn", "max_tokens", "refusal", "pause_turn")
    ),
    st.sampled_from((None, "", "\ud800", "model_context_window_exceeded", 7)),
)

# --- contexts -------------------------------------------------------------------------------

ORDER_TYPE_SETS = (
    frozenset({OrderType.MARKET, OrderType.LIMIT}),
    frozenset({OrderType.MARKET, OrderType.LIMIT}),
    frozenset({OrderType.MARKET, OrderType.LIMIT}),
    frozenset({OrderType.MARKET}),
    frozenset({OrderType.LIMIT}),
)


@st.composite
def risk_limits(draw: st.DrawFn) -> RiskLimits:
    def dec(values: Sequence[str | None]) -> Decimal | None:
        value = draw(st.sampled_from(values))
        return None if value is None else Decimal(value)

    return RiskLimits(
        max_position_weight=dec(("0.01", "0.10", "0.10", "0.5", "1")),
        max_order_notional=dec((None, None, None, "500", "20000", "1e9")),
        max_order_qty=dec((None, None, None, "1", "50", "1000000")),
        allow_short=draw(st.booleans()),
        min_confidence=dec(("0", "0", "0", "0.5", "0.9")),
        allowed_order_types=draw(st.sampled_from(ORDER_TYPE_SETS)),
        max_limit_deviation_bps=dec(("1", "50", "500", "500", "100000")),
    )


@st.composite
def contexts(draw: st.DrawFn) -> DecisionContext:
    return make_context(
        "AAPL",
        price=draw(st.sampled_from((None, *PRICES, *PRICES))),
        position=draw(st.sampled_from(("0", "0", "10", "-10", "500", "0.5"))),
        limits=draw(risk_limits()),
        equity=draw(st.sampled_from(("100000", "1000", "1e9"))),
        buying_power=draw(st.sampled_from((None, None, None, "0", "1000"))),
    )


@st.composite
def answers_at_the_limits(draw: st.DrawFn, ctx: DecisionContext) -> dict[str, Any]:
    """A well-formed answer sized at one of ``ctx``'s limits: well inside, just inside, on it,
    just over or far over (quantity, target weight, limit price collar)."""
    answer = draw(well_formed_answers())
    if answer["action"] == "hold":
        return answer
    price = ctx.reference_price or Decimal(100)
    limits, equity = ctx.limits, ctx.account.equity
    room = [
        limits.max_position_weight * equity / price,
        limits.max_order_qty,
        None if limits.max_order_notional is None else limits.max_order_notional / price,
        ctx.account.buying_power / price,
        abs(ctx.position.qty),
    ]
    caps = [c for c in room if c is not None and c > 0] or [Decimal(1)]
    # the tightest limit half the time: just over it, only that limit is broken
    cap = min(caps) if draw(st.booleans()) else draw(st.sampled_from(caps))
    factor = Decimal(draw(st.sampled_from(("0.5", "0.99", "1", "1.0001", "1.01", "1.01", "2"))))
    if "quantity" in answer:
        qty = (cap * factor).quantize(Decimal("0.0001"))
        answer["quantity"] = draw(st.sampled_from((str(qty), float(qty)))) if qty > 0 else 1
    if "target_weight" in answer:
        sign = draw(st.sampled_from((1, -1)))
        weight = max(Decimal(-1), min(Decimal(1), sign * limits.max_position_weight * factor))
        answer["target_weight"] = float(weight)
    if "limit_price" in answer:
        bps = limits.max_limit_deviation_bps * factor * draw(st.sampled_from((1, -1)))
        limit = (price * (1 + bps / 10_000)).quantize(Decimal("0.0001"))
        answer["limit_price"] = str(limit) if limit > 0 else "0.01"
    return answer


# --- the checks -------------------------------------------------------------------------------


def assert_within_limits(
    ctx: DecisionContext,
    *,
    symbol: str,
    action: str,
    qty: Decimal | None,
    target_weight: Decimal | None,
    order_type: str,
    limit_price: Decimal | None,
    confidence: Decimal,
) -> None:
    """Every rule of the request an accepted decision must keep, checked from the decision's
    own fields (the rules as docs/ai-decision.md states them, not the validator's code)."""
    limits = ctx.limits
    assert symbol == ctx.symbol, symbol
    assert action in ("buy", "sell", "hold"), action
    assert OrderType(order_type) in limits.allowed_order_types
    for name, value in (
        ("qty", qty),
        ("target_weight", target_weight),
        ("limit_price", limit_price),
        ("confidence", confidence),
    ):
        if value is not None:
            assert isinstance(value, Decimal) and value.is_finite(), (name, value)
            assert len(str(value)) <= 40, (name, value)
    assert 0 <= confidence <= 1
    if action == "hold":
        assert qty is None and target_weight is None and limit_price is None
        return
    assert confidence >= limits.min_confidence
    assert (limit_price is not None) == (order_type == "limit")
    price = ctx.reference_price
    assert price is not None and price > 0, "accepted without a price to check the risk"
    equity, held = ctx.account.equity, ctx.position.qty
    if target_weight is not None:
        assert abs(target_weight) <= limits.max_position_weight
        assert target_weight >= 0 or limits.allow_short
    if qty is not None:
        assert 0 < qty <= MAX_MODEL_NUMBER
        delta = qty if action == "buy" else -qty
    else:
        assert target_weight is not None, "a trade without a size"
        delta = target_weight * equity / price - held
    assert delta > 0 if action == "buy" else delta < 0, (action, delta)
    notional = abs(delta) * price
    if limits.max_order_qty is not None:
        assert abs(delta) <= limits.max_order_qty
    if limits.max_order_notional is not None:
        assert notional <= limits.max_order_notional
    if delta > 0:
        assert notional <= ctx.account.buying_power
    resulting = held + delta
    if abs(resulting) > abs(held) or resulting * held < 0:  # adds risk
        assert abs(resulting * price) / equity <= limits.max_position_weight
    if delta < 0 and not limits.allow_short:
        assert resulting >= 0, "a sell into a short"
    if limit_price is not None:
        assert abs(limit_price - price) / price * 10_000 <= limits.max_limit_deviation_bps


def assert_clear_reasons(reasons: Sequence[str]) -> None:
    """At least one reason; each is text a person can read, UTF-8 can carry and a log line
    can hold."""
    assert reasons, "rejected without a reason"
    assert len(reasons) <= MAX_REASONS, reasons
    for reason in reasons:
        assert isinstance(reason, str) and reason.strip(), reasons
        reason.encode("utf-8")
        assert len(reason) <= MAX_REASON_CHARS, reason[:300]


def assert_verdict_sound(verdict: Any, ctx: DecisionContext) -> None:
    """A rejection says why; an acceptance is within every limit."""
    if not verdict.accepted:
        assert_clear_reasons(verdict.reasons)
        return
    p = verdict.proposal
    assert p is not None
    assert_within_limits(
        ctx,
        symbol=p.symbol,
        action=str(p.action),
        qty=p.quantity,
        target_weight=p.target_weight,
        order_type=p.order_type,
        limit_price=p.limit_price,
        confidence=p.confidence,
    )


def assert_event_within_limits(event: DecisionMade, ctx: DecisionContext) -> None:
    assert_within_limits(
        ctx,
        symbol=event.symbol,
        action=str(event.action),
        qty=event.qty,
        target_weight=event.target_weight,
        order_type=str(event.order_type),
        limit_price=event.limit_price,
        confidence=event.confidence,
    )


# --- level 1: the pure functions --------------------------------------------------------------


@PURE
@given(raw=answers(), ctx=contexts())
@example(raw={**VALID_ANSWERS[0], "quantity": "1e999999"}, ctx=make_context())
@example(raw={**VALID_ANSWERS[1], "limit_price": "1e999999"}, ctx=make_context())
@example(raw={**VALID_ANSWERS[0], "quantity": "1e-999999"}, ctx=make_context())
@example(raw={**VALID_ANSWERS[0], "quantity": 1e308}, ctx=make_context())
@example(raw={**VALID_ANSWERS[0], "x\ud800" * 3000: 1}, ctx=make_context())
def test_validate_decision_any_answer_is_within_limits_or_rejected_with_reasons(
    raw: Any, ctx: DecisionContext
) -> None:
    verdict = validate_decision(raw, ctx)
    assert_verdict_sound(verdict, ctx)


@PURE
@given(ctx=contexts(), data=st.data())
def test_validate_decision_answers_at_the_limits_are_accepted_only_within_them(
    ctx: DecisionContext, data: st.DataObject
) -> None:
    verdict = validate_decision(data.draw(answers_at_the_limits(ctx)), ctx)
    assert_verdict_sound(verdict, ctx)


def as_sdk_object(value: Any) -> Any:
    """JSON as the SDK hands it over: objects with attributes (here without its models)."""
    if isinstance(value, dict):
        return SimpleNamespace(
            **{k: as_sdk_object(v) for k, v in value.items() if k.isidentifier()}
        )
    if isinstance(value, list):
        return [as_sdk_object(v) for v in value]
    return value


def token_counts() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.integers(0, 5000),
        st.integers(0, 5000),
        st.sampled_from((None, -1, 10**12, 10**5000, 1.5, float("inf"), float("nan"), "12", True)),
    )


@st.composite
def messages(draw: st.DrawFn) -> dict[str, Any]:
    block = st.one_of(
        st.fixed_dictionaries(
            {"type": st.just("tool_use"), "input": answers()},
            optional={"name": st.sampled_from(("submit_decision", "get_weather", 7, None))},
        ),
        st.fixed_dictionaries(
            {"type": st.just("text")},
            optional={"text": st.one_of(st.text(max_size=50), st.sampled_from(NASTY_TEXT))},
        ),
        json_values(4),
    )
    message: dict[str, Any] = {
        "id": draw(st.one_of(st.just("msg_1"), json_values(2))),
        "model": draw(st.one_of(st.just("claude-haiku-4-5"), json_values(2))),
        "content": draw(st.one_of(st.lists(block, max_size=3), json_values(3))),
        "stop_reason": draw(STOP_REASONS),
        "usage": draw(
            st.one_of(
                st.fixed_dictionaries(
                    {"input_tokens": token_counts(), "output_tokens": token_counts()},
                    optional={
                        "cache_creation_input_tokens": token_counts(),
                        "cache_read_input_tokens": token_counts(),
                    },
                ),
                json_values(2),
            )
        ),
    }
    for name in draw(st.lists(st.sampled_from(sorted(message)), max_size=2)):
        message.pop(name, None)
    return message


@MESSAGES
@given(message=messages())
def test_reply_from_message_any_message_is_a_clean_reply_or_malformed(
    message: dict[str, Any],
) -> None:
    try:
        reply = reply_from_message(as_sdk_object(message))
    except ProviderError as exc:
        failure: ProviderError | None = exc
    else:
        failure = None
    if failure is not None:
        assert failure.kind == "malformed"
        assert str(failure).startswith("malformed Messages API response")
        str(failure).encode("utf-8")
        return
    assert reply.stop_reason is None or isinstance(reply.stop_reason, str)
    assert isinstance(reply.model, str) and isinstance(reply.text, str)
    for text in (reply.stop_reason or "", reply.model, reply.text, reply.response_id or ""):
        text.encode("utf-8")
    for count in reply.usage.to_json().values():
        assert isinstance(count, int) and 0 <= count <= 10**9


# --- level 2: the decision use case -----------------------------------------------------------


@dataclass
class ScriptedProvider:
    """A provider answering one scripted reply (or raising the scripted exception)."""

    answer: ProviderReply | Exception | None = None
    name: str = "claude"
    calls: list[ProviderCall] = field(default_factory=list)

    async def decide(self, call: ProviderCall) -> ProviderReply:
        self.calls.append(call)
        if isinstance(self.answer, Exception):
            raise self.answer
        assert self.answer is not None
        return self.answer


@dataclass
class ScriptedBatches:
    """A batch provider whose results are scripted per custom id (``None``: left out)."""

    scripted: list[BatchItemResult] = field(default_factory=list)
    name: str = "claude"
    submitted: list[str] = field(default_factory=list)

    async def submit(self, model: str, calls: Sequence[tuple[str, ProviderCall]]) -> str:
        self.submitted = [custom_id for custom_id, _ in calls]
        return "msgbatch_fuzz"

    async def status(self, batch_id: str) -> BatchStatus:
        return BatchStatus(batch_id, True, "ended")

    async def results(self, batch_id: str) -> list[BatchItemResult]:
        return self.scripted


@pytest.fixture(scope="module")
async def features() -> FeatureStore:
    """The market data every example decides on (AAPL and MSFT around 100), built once."""
    store = FeatureStore(JsonStateStore())
    for symbol in ("AAPL", "MSFT"):
        for bar in BARS:
            await store.ingest(bar_event(symbol, bar))
        await store.ingest(quote_event(symbol, AS_OF - timedelta(seconds=1), "99.99", "100.01"))
    return store


@dataclass
class Service:
    decisions: DecisionService
    state: JsonStateStore
    bus: JsonEventBus
    batches: OvernightBatches | None = None


def build_service(
    features: FeatureStore,
    providers: dict[str, Any],
    *,
    batch_provider: Any = None,
) -> Service:
    """The use case as composed in production, on state and pub/sub as strict as Dapr's."""
    state, bus = JsonStateStore(), JsonEventBus()
    clock = datetime(2026, 3, 2, 15, tzinfo=UTC)
    prices = PriceTable(DEFAULT_PRICES)
    router = Router(
        state,
        RoutingPolicy(tasks={Task.FAST: [HAIKU], Task.DEEP: [SONNET], Task.OVERNIGHT: [SONNET]}),
        BudgetPolicy(),
        CircuitPolicy(failure_threshold=1000, open_seconds=60),
        prices,
        lambda: clock,
    )
    decisions = DecisionService(
        features=features,
        news=StaticNewsSource({}),
        renderer=JinjaPromptRenderer(DEFAULT_PROMPTS_DIR, [V1]),
        providers={"local": LocalModelProvider(), **providers},
        router=router,
        audit=AuditLog(state),
        publisher=bus,
        prices=prices,
        settings=DecisionSettings(templates=dict.fromkeys(Task, V1)),
        clock=lambda: clock,
    )
    batches = (
        None
        if batch_provider is None
        else OvernightBatches(decisions, batch_provider, state, lambda: clock)
    )
    return Service(decisions, state, bus, batches)


@st.composite
def requests(draw: st.DrawFn, symbols: Sequence[str] = ("AAPL",)) -> RequestDecision:
    return make_request(
        list(symbols),
        as_of=AS_OF,
        limits=draw(risk_limits()),
        equity=draw(st.sampled_from(("100000", "1000", "1e9"))),
        buying_power=draw(st.sampled_from((None, "0", "1000"))),
        positions={
            s: draw(st.sampled_from(("10", "-10", "500", "0.5")))
            for s in symbols
            if draw(st.booleans())
        },
    )


@st.composite
def replies(draw: st.DrawFn) -> ProviderReply:
    return ProviderReply(
        tool_input=draw(st.one_of(answers(), answers(), st.none())),
        stop_reason=draw(STOP_REASONS),
        usage=TokenUsage(draw(st.integers(0, 5000)), draw(st.integers(0, 500))),
        model=draw(st.sampled_from(("claude-haiku-4-5", "", "\ud800", "x" * 300))),
        text=draw(st.one_of(st.just(""), st.text(max_size=300), st.sampled_from(NASTY_TEXT))),
    )


async def assert_outcome_kept_the_rule(
    svc: Service, outcome: DecisionOutcome, request: RequestDecision
) -> AuditRecord:
    """An accepted outcome is published once and within limits; any other is recorded with
    clear reasons and never published. The audit record reads back either way."""
    record = await svc.decisions.audit.get(outcome.decision_id)
    assert record is not None, "the decision was not recorded (or cannot be read back)"
    assert record.status == outcome.status
    assert outcome.symbol in request.symbols
    mine = [e for e in svc.bus.published if getattr(e, "decision_id", None) == outcome.decision_id]
    if outcome.status == DecisionStatus.ACCEPTED:
        assert outcome.published and record.published
        [event] = mine
        assert isinstance(event, DecisionMade)
        ctx = context_from_json(record.context)
        assert_event_within_limits(event, ctx)
    else:
        assert outcome.status in (DecisionStatus.REJECTED, DecisionStatus.FAILED)
        assert mine == [] and not record.published
        assert_clear_reasons(outcome.reasons)
    return record


@SERVICE
@given(
    answer=st.one_of(
        replies(),
        replies(),
        replies(),
        st.builds(ProviderError, st.sampled_from(("overloaded", "x" * 5000, "\ud800"))),
        st.builds(RuntimeError, st.sampled_from(("a provider bug", "\ud800"))),
    ),
    request=requests(),
)
async def test_decision_service_any_reply_is_published_within_limits_or_recorded(
    features: FeatureStore, answer: ProviderReply | Exception, request: RequestDecision
) -> None:
    claude = ScriptedProvider(answer)
    svc = build_service(features, {"claude": claude})
    [outcome] = await svc.decisions.handle(request)
    record = await assert_outcome_kept_the_rule(svc, outcome, request)
    assert len(claude.calls) == 1
    if isinstance(answer, Exception):  # the provider could not answer: the local model did
        assert outcome.provider == "local", outcome
        [attempt] = record.attempts
        assert attempt.target == HAIKU and attempt.error.strip()
    else:  # Claude's answer stands or falls by itself: recorded as given
        assert outcome.provider == "claude"
        assert record.stop_reason is None or isinstance(record.stop_reason, str)
        json.dumps(record.model_dump(mode="json"), allow_nan=False).encode("utf-8")


@st.composite
def batch_results(draw: st.DrawFn, custom_ids: Sequence[str]) -> list[BatchItemResult]:
    """Results for a batch: per item a reply, an error or nothing; now and then an id twice
    or an id nobody asked for."""
    out: list[BatchItemResult] = []
    for custom_id in custom_ids:
        kind = draw(st.sampled_from(("reply", "reply", "reply", "error", "missing")))
        if kind == "reply":
            out.append(BatchItemResult(custom_id, draw(replies())))
        elif kind == "error":
            out.append(BatchItemResult(custom_id, None, draw(st.sampled_from(NASTY_TEXT))))
    if draw(st.booleans()) and out:
        out.append(BatchItemResult(out[0].custom_id, draw(replies())))
    if draw(st.booleans()):
        out.append(BatchItemResult(draw(st.text(max_size=20)), draw(replies())))
    return out


@BATCH
@given(request=requests(("AAPL", "MSFT")), data=st.data())
async def test_overnight_batch_any_results_are_collected_within_limits_or_recorded(
    features: FeatureStore, request: RequestDecision, data: st.DataObject
) -> None:
    request = request.model_copy(update={"task": Task.OVERNIGHT})
    provider = ScriptedBatches()
    svc = build_service(features, {}, batch_provider=provider)
    assert svc.batches is not None
    plan = await svc.decisions.router.plan(request.strategy_id, request.task)
    queued = await svc.batches.submit(request, plan)
    assert {o.status for o in queued} == {DecisionStatus.QUEUED}
    provider.scripted = data.draw(batch_results(provider.submitted))
    summary = await svc.batches.collect("msgbatch_fuzz")
    assert summary["status"] == "collected"
    assert sum(summary[k] for k in ("accepted", "rejected", "failed")) == len(request.symbols)
    for symbol in request.symbols:
        record = await svc.decisions.audit.get(decision_id_for(request.request_id, symbol))
        assert record is not None and record.status != DecisionStatus.QUEUED
        await assert_outcome_kept_the_rule(svc, DecisionOutcome.of(record), request)
    assert await svc.batches.open_batches() == []


# --- level 3: the real SDK against the loopback fake Messages API ------------------------------


@pytest.fixture(scope="module")
def fake_api() -> Iterator[FakeAnthropicAPI]:
    with running_fake(batch_polls_before_end=0) as fake:
        yield fake


@pytest.fixture(scope="module")
async def claude(fake_api: FakeAnthropicAPI) -> AsyncIterator[ClaudeProvider]:
    async def no_wait(seconds: float) -> None:
        return None

    provider = ClaudeProvider(
        client_factory("sk-ant-fuzz", fake_api.base_url, 5.0), max_retries=0, sleep=no_wait
    )
    yield provider
    await provider.close()


def scripted_answers() -> st.SearchStrategy[Scripted]:
    """What the fake API answers: a tool call with any input (any stop reason, an unknown
    tool), text only, or a body that is not the documented message."""
    return st.one_of(
        st.builds(
            tool_use,
            answers(),
            name=st.sampled_from(("submit_decision", "submit_decision", "get_weather")),
            stop_reason=st.sampled_from(("tool_use", "tool_use", "max_tokens", "end_turn")),
            text=st.one_of(st.none(), st.text(max_size=30)),
        ),
        st.builds(text_only, st.text(max_size=60), stop_reason=st.sampled_from(("end_turn",))),
        st.builds(
            raw_body,
            st.one_of(
                st.sampled_from(
                    (
                        b"",
                        b"not json",
                        b"null",
                        b"[]",
                        b'{"content": "x", "usage": {"input_tokens": -5}}',
                        b'{"content": [], "usage": {"input_tokens": 1e999}}',
                        b'{"content": [], "usage": {"input_tokens": 1, "output_tokens": "NaN"}}',
                        b"[" * 5000 + b"]" * 5000,
                    )
                ),
                json_values().map(lambda v: json.dumps(v).encode()),
            ),
        ),
    )


@WIRE
@given(scripted=scripted_answers(), request=requests())
@example(scripted=tool_use({**VALID_ANSWERS[0], "quantity": "1e999999"}), request=make_request())
@example(scripted=tool_use({**VALID_ANSWERS[0], "rationale": "\ud800"}), request=make_request())
@example(scripted=tool_use(nested(300)), request=make_request())
@example(scripted=raw_body(b"<html>gateway</html>"), request=make_request())
async def test_claude_through_the_sdk_any_answer_is_within_limits_or_recorded(
    features: FeatureStore,
    fake_api: FakeAnthropicAPI,
    claude: ClaudeProvider,
    scripted: Scripted,
    request: RequestDecision,
) -> None:
    request = request.model_copy(update={"as_of": AS_OF})
    fake_api.queue.clear()
    fake_api.script(scripted)
    svc = build_service(features, {"claude": claude})
    [outcome] = await svc.decisions.handle(request)
    record = await assert_outcome_kept_the_rule(svc, outcome, request)
    if scripted.kind == "raw" and outcome.provider == "local":  # not a message: failed over
        [attempt] = record.attempts
        assert attempt.error.startswith("malformed:"), attempt.error
    elif scripted.kind != "raw":
        assert outcome.provider == "claude"
        assert outcome.status != DecisionStatus.FAILED


@WIRE_BATCH
@given(scripted=st.lists(scripted_answers().filter(lambda s: s.kind == "message"), min_size=2))
async def test_claude_batch_through_the_sdk_any_results_are_within_limits_or_recorded(
    features: FeatureStore,
    fake_api: FakeAnthropicAPI,
    claude: ClaudeProvider,
    scripted: list[Scripted],
) -> None:
    request = make_request(["AAPL", "MSFT"], as_of=AS_OF, task=Task.OVERNIGHT)
    fake_api.queue.clear()
    fake_api.script(*scripted[:2])
    svc = build_service(features, {"claude": claude}, batch_provider=ClaudeBatchProvider(claude))
    assert svc.batches is not None
    plan = await svc.decisions.router.plan(request.strategy_id, request.task)
    [batch_id] = {o.batch_id for o in await svc.batches.submit(request, plan)}
    assert batch_id is not None
    summary = await svc.batches.collect(batch_id)
    assert summary["status"] == "collected", summary
    for symbol in request.symbols:
        record = await svc.decisions.audit.get(decision_id_for(request.request_id, symbol))
        assert record is not None and record.status != DecisionStatus.QUEUED
        await assert_outcome_kept_the_rule(svc, DecisionOutcome.of(record), request)


# --- regressions: each bug the fuzzing found --------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"quantity": "1e999999"}, "schema: quantity: Input should be less than or equal to"),
        (
            {"action": "sell", "quantity": "1e999999"},
            "schema: quantity: Input should be less than or equal to",
        ),
        (
            {"order_type": "limit", "limit_price": "1e999999"},
            "schema: limit_price: Input should be less than or equal to",
        ),
        ({"quantity": 1e308}, "schema: quantity: Input should be less than or equal to"),
        ({"quantity": "1e-999999"}, "schema: quantity: Decimal input should have no more than"),
        ({"quantity": "1." + "0" * 60}, "more than 32 digits"),
        ({"confidence": "0." + "7" * 60}, "schema: confidence"),
    ],
    ids=["huge-qty", "huge-sell", "huge-limit", "float-max", "tiny-qty", "long-qty", "long-conf"],
)
def test_regression_absurd_numbers_are_rejected_by_the_schema(
    overrides: dict[str, Any], reason: str
) -> None:
    """Was: ``decimal.Overflow`` out of the risk check ("1e999999"), a reason hundreds of digits
    long (1e308), and a 1E-999999-share order accepted."""
    verdict = validate_decision({**VALID_ANSWERS[0], **overrides}, make_context())
    assert not verdict.accepted
    assert any(reason in r for r in verdict.reasons), verdict.reasons
    assert_clear_reasons(verdict.reasons)


def test_regression_risk_arithmetic_beyond_decimal_range_is_a_rejection() -> None:
    """Was: ``decimal.Overflow`` (an equity near Decimal's limit, a target weight, a small
    price)."""
    ctx = make_context(price="0.05", equity="9.9e999999", buying_power="1e999999")
    raw = {**VALID_ANSWERS[2], "target_weight": 0.5}
    verdict = validate_decision(raw, ctx)
    assert not verdict.accepted
    assert verdict.reasons[0].startswith("risk unverifiable: the risk arithmetic failed (Overflow)")


def test_regression_a_made_up_key_is_shown_escaped_and_short() -> None:
    """Was: the key verbatim in the reason — 5,000 characters, or a lone surrogate the audit
    trail (JSON, UTF-8) could not store."""
    verdict = validate_decision({**VALID_ANSWERS[3], "A" * 5000: 1}, make_context())
    assert verdict.reasons == (
        "schema: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\\u2026': Extra inputs are not permitted",
    )
    verdict = validate_decision({**VALID_ANSWERS[3], "x\ud800": 1}, make_context())
    assert not verdict.accepted
    assert_clear_reasons(verdict.reasons)


def test_regression_many_schema_problems_are_capped() -> None:
    raw = {**VALID_ANSWERS[3], **{f"extra_{i}": i for i in range(100)}}
    verdict = validate_decision(raw, make_context())
    assert len(verdict.reasons) == 21
    assert verdict.reasons[-1] == "schema: … and 80 more problems"


@pytest.mark.parametrize(
    ("answer", "stop_reason"),
    [
        ({**VALID_ANSWERS[3], "rationale": "\ud800"}, "tool_use"),
        ({**VALID_ANSWERS[3], "junk": {"\ud800": ["\udfff"]}}, "tool_use"),
        ({**VALID_ANSWERS[3], "confidence": float("nan")}, "tool_use"),
        ({**VALID_ANSWERS[3], "junk": nested(300)}, "tool_use"),
        (nested(2000), "tool_use"),
        (VALID_ANSWERS[3], 123),
        (VALID_ANSWERS[3], "max_tokens\ud800"),
    ],
    ids=["surrogate-field", "surrogate-junk", "nan", "deep-300", "deep-2000", "int-stop", "stop"],
)
async def test_regression_any_raw_answer_is_recorded(
    features: FeatureStore, answer: Any, stop_reason: Any
) -> None:
    """Was: ``UnicodeEncodeError`` / ``ValueError: Maximum serialization depth exceeded`` /
    ``ValidationError`` (stop_reason) out of the audit save: the decision lost, the request
    answered 500. Now the raw answer is kept (lone surrogates escaped, NaN as text, what is
    nested deeper than 32 levels as JSON text) and the decision recorded."""
    reply = ProviderReply(answer, stop_reason, TokenUsage(10, 10), "claude-haiku-4-5")
    svc = build_service(features, {"claude": ScriptedProvider(reply)})
    request = make_request(["AAPL"], as_of=AS_OF)
    [outcome] = await svc.decisions.handle(request)
    record = await assert_outcome_kept_the_rule(svc, outcome, request)
    assert record.raw_output is not None
    json.dumps(record.model_dump(mode="json"), allow_nan=False).encode("utf-8")


@pytest.mark.parametrize(
    ("usage", "detail"),
    [
        ({"input_tokens": float("inf"), "output_tokens": 1}, "usage.input_tokens is inf"),
        ({"input_tokens": -5, "output_tokens": 1}, "usage.input_tokens is -5"),
        ({"input_tokens": 1, "output_tokens": 10**40}, "usage.output_tokens is 1000"),
        ({"input_tokens": 1, "output_tokens": "NaN"}, "usage.output_tokens is 'NaN'"),
        (None, "no usage"),
    ],
    ids=["inf", "negative", "huge", "text", "none"],
)
def test_regression_usage_that_is_not_a_token_count_is_malformed(usage: Any, detail: str) -> None:
    """Was: ``OverflowError`` (inf: escaped the batch results, so the whole batch could not be
    collected), a negative count accepted (a negative cost, budget handed back), a count whose
    cost cannot be quantized."""
    message = as_sdk_object({"content": [], "stop_reason": "end_turn", "usage": usage})
    with pytest.raises(ProviderError, match="malformed Messages API response") as raised:
        reply_from_message(message)
    assert detail in str(raised.value) and raised.value.kind == "malformed"


def test_regression_content_that_is_not_a_list_is_malformed() -> None:
    """Was: a string's characters read as content blocks."""
    message = as_sdk_object({"content": "submit_decision", "usage": {"input_tokens": 1}})
    with pytest.raises(ProviderError, match="content is a str, not a list of blocks"):
        reply_from_message(message)


def test_regression_odd_stop_reason_and_model_become_text() -> None:
    """Was: passed on as given (an int stop reason made the audit record invalid)."""
    message = as_sdk_object(
        {"content": [], "stop_reason": 7, "model": "\ud800", "usage": {"input_tokens": 1}}
    )
    reply = reply_from_message(message)
    assert (reply.stop_reason, reply.model) == ("7", "\\ud800")


@pytest.mark.parametrize(
    "body", [b"not json", b"[" * 5000 + b"]" * 5000, b""], ids=["text", "deep", "empty"]
)
async def test_regression_a_body_the_sdk_cannot_read_is_a_provider_error(
    fake_api: FakeAnthropicAPI, claude: ClaudeProvider, body: bytes
) -> None:
    """Was: the SDK's ``JSONDecodeError`` / ``RecursionError`` raised as they were — logged as
    a provider bug on the real-time path, and out of ``collect`` for a batch."""
    fake_api.queue.clear()
    fake_api.script(raw_body(body))
    call = ProviderCall(
        model="claude-haiku-4-5",
        prompt=JinjaPromptRenderer(DEFAULT_PROMPTS_DIR, [V1]).render(V1, make_context()),
        context=make_context(),
    )
    with pytest.raises(ProviderError, match="malformed response") as raised:
        await claude.decide(call)
    assert raised.value.kind == "malformed"
