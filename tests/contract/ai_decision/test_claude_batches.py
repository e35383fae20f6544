"""Overnight analysis through the Message Batches API (real SDK, fake API)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ai_decision.domain.commands import Task
from ai_decision.domain.pricing import DEFAULT_PRICES, PriceTable, TokenUsage
from tests.contract.ai_decision.conftest import AS_OF
from tests.fakes.anthropic_api import api_error, batch_errored, batch_expired, tool_use
from tests.unit.ai_decision.builders import make_request

pytestmark = pytest.mark.contract

PRICES = PriceTable(DEFAULT_PRICES)


def hold(symbol: str) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "action": "hold",
        "order_type": "market",
        "confidence": 0.5,
        "horizon": "1w",
        "rationale": f"Overnight review of {symbol}: no edge.",
    }


async def test_overnight_request_is_queued_in_a_batch_then_collected(make_claude_app: Any) -> None:
    svc = await make_claude_app()
    symbols = ["AAPL", "MSFT", "NVDA", "AMZN"]
    svc.fake.script(
        tool_use(hold("AAPL")),
        batch_errored("invalid_request_error", "prompt is too long"),
        batch_expired(),
        tool_use({"symbol": "AMZN", "action": "moon"}),
    )
    outcomes = await svc.decide(make_request(symbols, as_of=AS_OF, task=Task.OVERNIGHT))
    assert {o["status"] for o in outcomes} == {"queued"}
    batch_id = outcomes[0]["batch_id"]
    assert batch_id and all(o["batch_id"] == batch_id for o in outcomes)
    assert svc.bus.published == []
    assert (await svc.client.get("/decisions/batches")).json() == {"open": [batch_id]}
    sent = svc.fake.requests
    assert [r["model"] for r in sent] == ["claude-sonnet-4-6"] * 4  # the deep route
    assert all(r["tool_choice"]["name"] == "submit_decision" for r in sent)
    queued = await svc.audit(outcomes[0]["decision_id"])
    assert queued["status"] == "queued" and queued["prompt_sha256"]

    first = (await svc.client.post(f"/decisions/batches/{batch_id}/collect")).json()
    assert first["status"] == "in_progress"

    done = (await svc.client.post(f"/decisions/batches/{batch_id}/collect")).json()
    assert done == {
        "batch_id": batch_id,
        "status": "collected",
        "accepted": 1,
        "rejected": 1,
        "failed": 2,
    }
    by_symbol = {o["symbol"]: await svc.audit(o["decision_id"]) for o in outcomes}
    assert by_symbol["AAPL"]["status"] == "accepted" and by_symbol["AAPL"]["published"]
    assert by_symbol["AAPL"]["prompt_sha256"] == queued["prompt_sha256"]
    assert "prompt is too long" in by_symbol["MSFT"]["reasons"][0]
    assert "expired" in by_symbol["NVDA"]["reasons"][0]
    assert by_symbol["AMZN"]["status"] == "rejected"
    [event] = svc.bus.published
    assert event.symbol == "AAPL" and event.task == "overnight"

    usage = TokenUsage.from_json(by_symbol["AAPL"]["usage"])
    expected = PRICES.cost("claude", "claude-sonnet-4-6", usage, batch=True)
    assert Decimal(by_symbol["AAPL"]["cost_usd"]) == expected
    assert expected == PRICES.cost("claude", "claude-sonnet-4-6", usage) / 2

    again = (await svc.client.post(f"/decisions/batches/{batch_id}/collect")).json()
    assert again["status"] == "collected"
    assert len(svc.bus.published) == 1
    assert (await svc.client.get("/decisions/batches")).json() == {"open": []}
    budget = (await svc.client.get("/routing/status")).json()["budget"]
    assert Decimal(budget["spent_usd"]) > 0


async def test_overnight_redelivered_request_is_not_batched_twice(make_claude_app: Any) -> None:
    svc = await make_claude_app()
    request = make_request(["AAPL"], as_of=AS_OF, task=Task.OVERNIGHT)
    first = await svc.decide(request)
    second = await svc.decide(request)
    assert first == second
    assert len(svc.fake.batches) == 1


async def test_overnight_collect_all_open_batches(make_claude_app: Any) -> None:
    svc = await make_claude_app()
    svc.fake.batch_polls_before_end = 0
    await svc.decide(make_request(["AAPL"], as_of=AS_OF, task=Task.OVERNIGHT))
    await svc.decide(make_request(["MSFT"], as_of=AS_OF, task=Task.OVERNIGHT))
    collected = (await svc.client.post("/decisions/batches/collect")).json()["batches"]
    assert [b["status"] for b in collected] == ["collected", "collected"]
    assert len(svc.bus.published) == 2


async def test_overnight_batch_submit_failure_decides_now_on_the_next_model(
    make_claude_app: Any,
) -> None:
    svc = await make_claude_app()
    svc.fake.batch_create_errors.append(
        api_error(400, "invalid_request_error", "too many requests")
    )
    [outcome] = await svc.decide(make_request(["AAPL"], as_of=AS_OF, task=Task.OVERNIGHT))
    assert outcome["status"] == "accepted"
    assert outcome["model"] == "claude-haiku-4-5"  # real time, on the route's next model
    audit = await svc.audit(outcome["decision_id"])
    assert audit["batch_id"] is None


async def test_overnight_unknown_batch_is_404(make_claude_app: Any) -> None:
    svc = await make_claude_app()
    assert (await svc.client.post("/decisions/batches/msgbatch_nope/collect")).status_code == 404
    assert (await svc.client.get("/decisions/batches/msgbatch_nope")).status_code == 404


async def test_overnight_with_local_route_decides_at_once(make_claude_app: Any) -> None:
    from ai_decision.domain.routing import RoutingPolicy

    svc = await make_claude_app(
        routing=RoutingPolicy(tasks={Task.FAST: ["claude:claude-haiku-4-5"]})
    )
    [outcome] = await svc.decide(make_request(["AAPL"], as_of=AS_OF, task=Task.OVERNIGHT))
    assert outcome["status"] == "accepted" and outcome["provider"] == "local"
    assert svc.fake.batches == {}
