"""ai.decisions: trading decisions, keyed by strategy id."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import Field, field_validator

from .base import Contract, Event, Topic
from .trade import OrderType


class DecisionAction(StrEnum):
    BUY = "buy"
    SELL = "sell"
    HOLD = "hold"


class DecisionMade(Event):
    """The AI decision service decided what to do about one symbol for one strategy."""

    event_name: ClassVar[str] = "ai.decision-made"
    topic: ClassVar[Topic] = Topic.DECISIONS
    partition_field: ClassVar[str] = "strategy_id"

    decision_id: UUID
    request_id: UUID
    strategy_id: str = Field(min_length=1, max_length=64)
    symbol: str = Field(min_length=1, max_length=32)
    action: DecisionAction
    qty: Decimal | None = Field(default=None, gt=0)
    target_weight: Decimal | None = Field(default=None, ge=-1, le=1)
    order_type: OrderType = OrderType.MARKET
    limit_price: Decimal | None = Field(default=None, gt=0)
    confidence: Decimal = Field(ge=0, le=1)
    horizon: str = Field(min_length=1, max_length=32)
    rationale: str = Field(min_length=1)
    provider: str = Field(min_length=1)
    model: str = Field(min_length=1)
    # Optional audit links (added in v1, backward compatible): where to read how it was made.
    task: str | None = Field(
        default=None, max_length=32, description="Routing task: fast, deep or overnight"
    )
    prompt_template: str | None = Field(
        default=None, max_length=128, description="Prompt template and version, e.g. decision/v1"
    )
    prompt_sha256: str | None = Field(
        default=None,
        min_length=64,
        max_length=64,
        description="SHA-256 of the rendered prompt; the audit trail is GET /decisions/{id}/audit",
    )


class DecisionRiskLimits(Contract):
    """The limits an AI decision must stay within; a decision that breaks one is rejected.
    Sent by the orchestrator in each decision request (``risk_limits``)."""

    max_position_weight: Decimal = Field(
        default=Decimal("0.10"), gt=0, le=1, description="Max |position value| / equity"
    )
    max_order_notional: Decimal | None = Field(default=None, gt=0, description="Max |qty × price|")
    max_order_qty: Decimal | None = Field(default=None, gt=0)
    allow_short: bool = False
    min_confidence: Decimal = Field(
        default=Decimal("0"), ge=0, le=1, description="Buy/sell below this confidence is refused"
    )
    allowed_order_types: frozenset[OrderType] = Field(
        default=frozenset({OrderType.MARKET, OrderType.LIMIT})
    )
    max_limit_deviation_bps: Decimal = Field(
        default=Decimal("500"),
        gt=0,
        description="A limit price further than this from the reference price is refused",
    )

    @field_validator("allowed_order_types")
    @classmethod
    def _some_order_type(cls, value: frozenset[OrderType]) -> frozenset[OrderType]:
        if not value:
            raise ValueError("at least one order type must be allowed")
        return value
