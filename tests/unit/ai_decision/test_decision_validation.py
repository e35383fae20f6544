"""Output validation: every way a model's decision is rejected, and what passes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ai_decision.domain.commands import RiskLimits
from ai_decision.domain.decision import (
    DECISION_TOOL_SCHEMA,
    DecisionProposal,
    validate_decision,
)
from tests.unit.ai_decision.builders import make_context
from trader_common.contracts import OrderType


def decision(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "symbol": "AAPL",
        "action": "buy",
        "quantity": 10,
        "order_type": "market",
        "confidence": 0.7,
        "horizon": "5d",
        "rationale": "Trend up on rising volume.",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not ...}


def test_validate_decision_valid_buy_is_accepted_with_its_order() -> None:
    verdict = validate_decision(decision(), make_context(price="100"))
    assert verdict.accepted, verdict.reasons
    assert verdict.order_qty == Decimal("10")
    assert verdict.resulting_qty == Decimal("10")


def test_validate_decision_hold_is_accepted() -> None:
    verdict = validate_decision(decision(action="hold", quantity=...), make_context())
    assert verdict.accepted, verdict.reasons


def test_validate_decision_limit_order_near_price_is_accepted() -> None:
    verdict = validate_decision(decision(order_type="limit", limit_price=99.5), make_context())
    assert verdict.accepted, verdict.reasons


def test_validate_decision_target_weight_only_implies_the_order() -> None:
    ctx = make_context(price="100", position="20", equity="100000")
    verdict = validate_decision(decision(quantity=..., target_weight=0.05), ctx)
    assert verdict.accepted, verdict.reasons
    assert verdict.order_qty == Decimal("30")  # 5% of 100k at 100 = 50 shares, holding 20


def test_validate_decision_buy_covering_part_of_a_short_is_accepted_without_shorting() -> None:
    ctx = make_context(price="100", position="-5")
    verdict = validate_decision(decision(quantity=2), ctx)
    assert verdict.accepted, verdict.reasons


def test_validate_decision_reducing_an_oversized_position_is_accepted() -> None:
    ctx = make_context(price="100", position="500")  # 50% weight, limit 10%
    verdict = validate_decision(decision(action="sell", quantity=100), ctx)
    assert verdict.accepted, verdict.reasons


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("buy AAPL", "not a JSON object (got str)"),
        ([decision()], "not a JSON object (got list)"),
        (decision(action="strong buy"), "schema: action"),
        (decision(confidence=1.7), "schema: confidence"),
        (decision(confidence="very"), "schema: confidence"),
        (decision(quantity=-5), "schema: quantity"),
        (decision(target_weight=1.5), "schema: target_weight"),
        (decision(order_type="stop"), "schema: order_type"),
        (decision(rationale=...), "schema: rationale: Field required"),
        (decision(horizon=""), "schema: horizon"),
        (decision(leverage=3), "schema: leverage: Extra inputs are not permitted"),
        (decision(quantity=float("nan")), "schema: quantity"),
        (decision(quantity=...), "a buy needs a quantity or a target_weight"),
        (decision(action="hold"), "a hold carries no quantity"),
        (decision(order_type="limit"), "a limit order needs a limit_price"),
        (decision(limit_price=100), "a market order takes no limit_price"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_validate_decision_schema_failure_is_rejected(raw: object, expected: str) -> None:
    verdict = validate_decision(raw, make_context())
    assert not verdict.accepted
    assert any(expected in r for r in verdict.reasons), verdict.reasons


def test_validate_decision_unasked_symbol_is_rejected() -> None:
    verdict = validate_decision(decision(symbol="TSLA"), make_context("AAPL"))
    assert not verdict.accepted
    assert verdict.reasons == ("symbol 'TSLA' was not asked about (asked: AAPL)",)


def test_validate_decision_symbol_case_mismatch_is_rejected() -> None:
    verdict = validate_decision(decision(symbol="aapl"), make_context("AAPL"))
    assert not verdict.accepted


@pytest.mark.parametrize(
    ("raw", "ctx_kwargs", "expected"),
    [
        (
            decision(order_type="limit", limit_price=100),
            {"limits": RiskLimits(allowed_order_types=frozenset({OrderType.MARKET}))},
            "order type limit is not allowed (allowed: market)",
        ),
        (
            decision(confidence=0.4),
            {"limits": RiskLimits(min_confidence=Decimal("0.6"))},
            "confidence 0.4 is below the minimum 0.6",
        ),
        (
            decision(quantity=..., target_weight=0.5),
            {},
            "target_weight 0.5 exceeds the max position weight 0.10",
        ),
        (
            decision(action="sell", quantity=..., target_weight=-0.05),
            {},
            "target_weight -0.05 is short; shorting is not allowed",
        ),
        (decision(), {"price": None}, "risk unverifiable"),
        (
            decision(quantity=..., target_weight=0.01),
            {"position": "50"},  # 5% now: a 1% target is a sell
            "implies selling",
        ),
        (
            decision(action="sell", quantity=..., target_weight=0.05),
            {"position": "10"},
            "implies buying",
        ),
        (
            decision(quantity=10),
            {"limits": RiskLimits(max_order_qty=Decimal("5"))},
            "order qty 10.0000 exceeds the max order qty 5",
        ),
        (
            decision(quantity=10),
            {"limits": RiskLimits(max_order_notional=Decimal("500"))},
            "order notional 1000.00 exceeds the max 500",
        ),
        (decision(quantity=200), {}, "resulting position weight 0.2000 exceeds the max 0.10"),
        (
            decision(action="sell", quantity=20),
            {"position": "10"},
            "would leave a short -10.0000; no shorting",
        ),
        (
            decision(quantity=50),
            {"buying_power": "1000"},
            "buy notional 5000.00 exceeds buying power 1000",
        ),
        (
            decision(order_type="limit", limit_price=120),
            {},
            "limit price 120 is 2000 bps from the reference price",
        ),
    ],
    ids=[
        "order-type",
        "min-confidence",
        "target-weight",
        "short-weight",
        "no-price",
        "weight-direction-buy",
        "weight-direction-sell",
        "max-qty",
        "max-notional",
        "position-weight",
        "short-sell",
        "buying-power",
        "limit-collar",
    ],
)
def test_validate_decision_risk_limit_breach_is_rejected(
    raw: dict[str, Any], ctx_kwargs: dict[str, Any], expected: str
) -> None:
    verdict = validate_decision(raw, make_context(**ctx_kwargs))
    assert not verdict.accepted
    assert any(expected in r for r in verdict.reasons), verdict.reasons


def test_validate_decision_reports_every_breach_not_just_the_first() -> None:
    ctx = make_context(
        limits=RiskLimits(max_order_qty=Decimal("1"), max_order_notional=Decimal("10"))
    )
    verdict = validate_decision(decision(quantity=500), ctx)
    assert len(verdict.reasons) >= 3


def test_tool_schema_matches_the_proposal_model() -> None:
    props = set(DECISION_TOOL_SCHEMA["properties"])
    assert props == set(DecisionProposal.model_fields)
    required = {n for n, f in DecisionProposal.model_fields.items() if f.is_required()}
    assert set(DECISION_TOOL_SCHEMA["required"]) == required
    assert DECISION_TOOL_SCHEMA["additionalProperties"] is False
