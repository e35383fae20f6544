"""The Claude provider through the real anthropic SDK against the fake Messages API: structured
output by tool use, prompt caching, usage and cost, retries honouring retry-after, timeouts,
failover, circuit, budget, routing by task and strategy, and every rejection path."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ai_decision.domain.commands import RiskLimits, Task
from ai_decision.domain.decision import DECISION_TOOL_SCHEMA, TOOL_NAME
from ai_decision.domain.pricing import DEFAULT_PRICES, PriceTable, TokenUsage
from tests.contract.ai_decision.conftest import AS_OF
from tests.fakes.anthropic_api import (
    api_error,
    overloaded,
    rate_limited,
    server_error,
    slow,
    text_only,
    tool_use,
)
from tests.unit.ai_decision.builders import make_request
from trader_common.contracts import DecisionMade

pytestmark = pytest.mark.contract

PRICES = PriceTable(DEFAULT_PRICES)


def buy(symbol: str = "AAPL", **overrides: Any) -> dict[str, Any]:
    decision: dict[str, Any] = {
        "symbol": symbol,
        "action": "buy",
        "quantity": 10,
        "order_type": "limit",
        "limit_price": 100.0,
        "confidence": 0.72,
        "horizon": "5d",
        "rationale": "20-bar return +3% with MACD above signal; RSI 61 leaves room.",
    }
    decision.update(overrides)
    return decision


async def test_claude_tool_use_decision_is_accepted_published_and_audited(
    make_claude_app: Any,
) -> None:
    svc = await make_claude_app()
    svc.fake.script(tool_use(buy()))
    [outcome] = await svc.decide(make_request(["AAPL"], as_of=AS_OF))
    assert outcome["status"] == "accepted", outcome
    assert (outcome["provider"], outcome["model"]) == ("claude", "claude-haiku-4-5")

    [event] = svc.bus.published
    assert isinstance(event, DecisionMade)
    assert (event.action, event.qty, event.limit_price) == ("buy", Decimal("10"), Decimal("100.0"))
    assert event.partition_key() == "momo-1"

    [sent] = svc.fake.requests
    assert sent["model"] == "claude-haiku-4-5"
    assert sent["tools"] == [
        {
            "name": TOOL_NAME,
            "description": sent["tools"][0]["description"],
            "input_schema": DECISION_TOOL_SCHEMA,
        }
    ]
    assert sent["tool_choice"] == {"type": "tool", "name": TOOL_NAME}
    assert "Decide for AAPL" in sent["messages"][0]["content"]
    headers = svc.fake.request_headers[0]
    assert "sk-ant-test" in (headers.get("x-api-key", "") + headers.get("authorization", ""))
    assert "anthropic-version" in svc.fake.request_headers[0]

    audit = await svc.audit(outcome["decision_id"])
    usage = TokenUsage.from_json(audit["usage"])
    assert usage.cache_creation_input_tokens > 0 and usage.output_tokens > 0
    assert Decimal(audit["cost_usd"]) == PRICES.cost("claude", "claude-haiku-4-5", usage)
    assert audit["prompt_template"] == "decision/v1"
    assert audit["raw_output"] == buy()
    assert audit["latency_ms"] > 0


async def test_claude_prompt_caching_on_reads_the_stable_prefix(make_claude_app: Any) -> None:
    svc = await make_claude_app(prompt_caching=True)
    outcomes = await svc.decide(make_request(["AAPL"], as_of=AS_OF))
    outcomes += await svc.decide(make_request(["MSFT"], as_of=AS_OF))
    system = svc.fake.requests[0]["system"]
    assert system[0]["cache_control"] == {"type": "ephemeral"}
    first, second = [
        TokenUsage.from_json((await svc.audit(o["decision_id"]))["usage"]) for o in outcomes
    ]
    assert first.cache_creation_input_tokens > 0 and first.cache_read_input_tokens == 0
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens
    assert second.cache_creation_input_tokens == 0
    costs = [Decimal((await svc.audit(o["decision_id"]))["cost_usd"]) for o in outcomes]
    assert costs[1] < costs[0]


async def test_claude_prompt_caching_off_sends_no_breakpoint(make_claude_app: Any) -> None:
    svc = await make_claude_app(prompt_caching=False)
    outcomes = await svc.decide(make_request(["AAPL", "MSFT"], as_of=AS_OF))
    assert all("cache_control" not in block for r in svc.fake.requests for block in r["system"])
    for outcome in outcomes:
        usage = TokenUsage.from_json((await svc.audit(outcome["decision_id"]))["usage"])
        assert usage.cache_creation_input_tokens == usage.cache_read_input_tokens == 0
        assert usage.input_tokens > 1024


async def test_claude_429_is_retried_after_retry_after(make_claude_app: Any) -> None:
    svc = await make_claude_app()
    svc.fake.script(rate_limited(retry_after=2), tool_use(buy()))
    [outcome] = await svc.decide(make_request(["AAPL"], as_of=AS_OF))
    assert outcome["status"] == "accepted" and outcome["provider"] == "claude"
    assert svc.sleeps == [2.0]
    assert len(svc.fake.requests) == 2


async def test_claude_429_retry_after_ms_is_honoured(make_claude_app: Any) -> None:
    svc = await make_claude_app()
    svc.fake.script(rate_limited(retry_after=None, retry_after_ms=250), tool_use(buy()))
    await svc.decide(make_request(["AAPL"], as_of=AS_OF))
    assert svc.sleeps == [0.25]


async def test_claude_529_overloaded_retries_then_falls_back(make_claude_app: Any) -> None:
    svc = await make_claude_app(anthropic_max_retries=2)
    svc.fake.script(overloaded(), overloaded(), overloaded())
    [outcome] = await svc.decide(make_request(["AAPL"], as_of=AS_OF))
    assert svc.sleeps == [0.5, 1.0]  # exponential backoff without retry-after
    assert len(svc.fake.requests) == 3
    assert outcome["provider"] == "local" and outcome["status"] == "accepted"
    audit = await svc.audit(outcome["decision_id"])
    [attempt] = audit["attempts"]
    assert attempt["target"] == "claude:claude-haiku-4-5"
    assert "overloaded" in attempt["error"] and "after 2 retries" in attempt["error"]


async def test_claude_529_then_success_is_claudes_decision(make_claude_app: Any) -> None:
    svc = await make_claude_app()
    svc.fake.script(overloaded(retry_after=1), tool_use(buy()))
    [outcome] = await svc.decide(make_request(["AAPL"], as_of=AS_OF))
    assert outcome["provider"] == "claude"
    assert svc.sleeps == [1.0]


async def test_claude_retry_after_beyond_max_wait_fails_over_at_once(make_claude_app: Any) -> None:
    svc = await make_claude_app(anthropic_max_retry_wait_seconds=30)
    svc.fake.script(rate_limited(retry_after=120))
    [outcome] = await svc.decide(make_request(["AAPL"], as_of=AS_OF))
    assert svc.sleeps == []
    assert outcome["provider"] == "local"
    audit = await svc.audit(outcome["decision_id"])
    assert "exceeds the max wait" in audit["attempts"][0]["error"]


async def test_claude_500_is_retried(make_claude_app: Any) -> None:
    svc = await make_claude_app()
    svc.fake.script(server_error(), tool_use(buy()))
    [outcome] = await svc.decide(make_request(["AAPL"], as_of=AS_OF))
    assert outcome["provider"] == "claude"


async def test_claude_400_is_not_retried_and_fails_over(make_claude_app: Any) -> None:
    svc = await make_claude_app()
    svc.fake.script(api_error(400, "invalid_request_error", "max_tokens: too large"))
    [outcome] = await svc.decide(make_request(["AAPL"], as_of=AS_OF))
    assert len(svc.fake.requests) == 1 and svc.sleeps == []
    assert outcome["provider"] == "local"
    audit = await svc.audit(outcome["decision_id"])
    assert "HTTP 400 invalid_request_error: max_tokens: too large" in audit["attempts"][0]["error"]


async def test_claude_timeout_fails_over(make_claude_app: Any) -> None:
    svc = await make_claude_app(anthropic_timeout_seconds=0.3)
    svc.fake.script(slow(3, tool_use(buy())))
    [outcome] = await svc.decide(make_request(["AAPL"], as_of=AS_OF))
    assert outcome["provider"] == "local"
    audit = await svc.audit(outcome["decision_id"])
    assert "timeout: claude claude-haiku-4-5 timed out after 0.3s" in audit["attempts"][0]["error"]


@pytest.mark.parametrize(
    ("scripted", "reason"),
    [
        (tool_use("{'action': 'buy'"), "the decision is not a JSON object (got str)"),
        (tool_use(buy(action="strong buy")), "schema: action"),
        (tool_use(buy(confidence=7)), "schema: confidence"),
        (tool_use({"symbol": "AAPL"}), "schema: action: Field required"),
        (text_only("I would buy AAPL here."), "the model called no tool (stop_reason=end_turn)"),
        (tool_use(buy(), name="get_weather"), "called unknown tool 'get_weather'"),
        (tool_use(buy(), stop_reason="max_tokens"), "incomplete answer: stop_reason=max_tokens"),
        (text_only("I can't help with that.", stop_reason="refusal"), "stop_reason=refusal"),
        (tool_use(buy(symbol="TSLA")), "symbol 'TSLA' was not asked about (asked: AAPL)"),
        (tool_use(buy(quantity=5000)), "resulting position weight"),
        (tool_use(buy(limit_price=150)), "bps from the reference price"),
    ],
    ids=[
        "string-input",
        "bad-enum",
        "out-of-range",
        "missing-fields",
        "text-only",
        "unknown-tool",
        "max-tokens",
        "refusal",
        "unasked-symbol",
        "risk-weight",
        "risk-collar",
    ],
)
async def test_claude_bad_output_is_rejected_recorded_and_not_published(
    make_claude_app: Any, scripted: Any, reason: str
) -> None:
    svc = await make_claude_app()
    svc.fake.script(scripted)
    [outcome] = await svc.decide(make_request(["AAPL"], as_of=AS_OF))
    assert outcome["status"] == "rejected"
    assert any(reason in r for r in outcome["reasons"]), outcome["reasons"]
    assert svc.bus.published == []
    audit = await svc.audit(outcome["decision_id"])
    assert audit["status"] == "rejected" and audit["published"] is False
    assert audit["usage"]["output_tokens"] > 0  # what it cost is recorded all the same


async def test_claude_rejected_by_the_strategys_own_limits(make_claude_app: Any) -> None:
    svc = await make_claude_app()
    svc.fake.script(tool_use(buy(confidence=0.5)))
    request = make_request(["AAPL"], as_of=AS_OF, limits=RiskLimits(min_confidence=Decimal("0.6")))
    [outcome] = await svc.decide(request)
    assert outcome["reasons"] == ["confidence 0.5 is below the minimum 0.6"]


async def test_claude_routing_by_task_and_strategy(make_claude_app: Any) -> None:
    svc = await make_claude_app()
    await svc.decide(make_request(["AAPL"], as_of=AS_OF, task=Task.FAST))
    await svc.decide(make_request(["AAPL"], as_of=AS_OF, task=Task.DEEP))
    await svc.decide(make_request(["AAPL"], as_of=AS_OF, task=Task.DEEP, strategy_id="special"))
    assert [r["model"] for r in svc.fake.requests] == [
        "claude-haiku-4-5",
        "claude-sonnet-4-6",
        "claude-opus-4-6",
    ]
    deep_prompt = svc.fake.requests[1]["messages"][0]["content"]
    assert "Recent bars" in deep_prompt and deep_prompt.count("\n2026-") >= 30


async def test_claude_repeated_failures_open_the_circuit(make_claude_app: Any) -> None:
    svc = await make_claude_app(anthropic_max_retries=0, circuit_failure_threshold=2)
    svc.fake.script(server_error(), server_error())
    for _ in range(2):
        [outcome] = await svc.decide(make_request(["AAPL"], as_of=AS_OF))
        assert outcome["provider"] == "local"
    assert len(svc.fake.requests) == 2
    [outcome] = await svc.decide(make_request(["AAPL"], as_of=AS_OF))
    assert len(svc.fake.requests) == 2  # circuit open: Claude not called
    assert outcome["provider"] == "local"
    status = (await svc.client.get("/routing/status")).json()
    haiku = next(t for t in status["targets"] if t["target"] == "claude:claude-haiku-4-5")
    assert haiku["circuit"] == "open" and haiku["failures"] == 2


async def test_claude_daily_budget_spent_falls_back_to_local(make_claude_app: Any) -> None:
    svc = await make_claude_app(daily_budget_usd=Decimal("0.000001"))
    [first] = await svc.decide(make_request(["AAPL"], as_of=AS_OF))
    assert first["provider"] == "claude"
    [second] = await svc.decide(make_request(["AAPL"], as_of=AS_OF))
    assert second["provider"] == "local"
    assert len(svc.fake.requests) == 1
    audit = await svc.audit(second["decision_id"])
    assert audit["route"]["budget_level"] == "exhausted"
    assert audit["route"]["skipped"][0]["reason"] == "daily budget spent"


async def test_claude_daily_token_budget_downgrades_deep_to_the_cheaper_model(
    make_claude_app: Any,
) -> None:
    svc = await make_claude_app(daily_token_budget=4000, budget_downgrade_at=Decimal("0.1"))
    await svc.decide(make_request(["AAPL"], as_of=AS_OF, task=Task.DEEP))
    await svc.decide(make_request(["AAPL"], as_of=AS_OF, task=Task.DEEP))
    assert [r["model"] for r in svc.fake.requests][:2] == ["claude-sonnet-4-6", "claude-haiku-4-5"]
