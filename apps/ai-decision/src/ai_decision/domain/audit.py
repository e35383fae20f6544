"""The audit record of one decision — accepted, rejected or failed — as a person reads it back:
what was asked, what the model saw (context, template version, prompt hash), what it answered,
what it cost and took, and why it was accepted or rejected."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from .commands import Task


class DecisionStatus(StrEnum):
    ACCEPTED = "accepted"  # valid: published on ai.decisions
    REJECTED = "rejected"  # invalid output: recorded, never published
    FAILED = "failed"  # no provider could answer
    QUEUED = "queued"  # in an overnight Message Batch, not collected yet


class Attempt(BaseModel):
    """A provider call that failed before another target was tried."""

    model_config = ConfigDict(frozen=True)

    target: str
    error: str
    latency_ms: float = 0.0


class AuditRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    decision_id: UUID
    request_id: UUID
    strategy_id: str
    symbol: str
    as_of: datetime
    task: Task
    status: DecisionStatus
    reasons: list[str] = Field(default_factory=list)
    decision: dict[str, Any] | None = Field(
        default=None, description="The DecisionMade payload published (accepted only)"
    )
    raw_output: Any = Field(default=None, description="What the model returned, as returned")
    stop_reason: str | None = None
    provider: str | None = None
    model: str | None = None
    prompt_template: str | None = None
    prompt_sha256: str | None = None
    system_prompt_sha256: str | None = None
    prompt_user: str | None = Field(default=None, description="The rendered per-decision prompt")
    usage: dict[str, int] = Field(default_factory=dict)
    cost_usd: Decimal = Decimal("0")
    latency_ms: float = 0.0
    attempts: list[Attempt] = Field(default_factory=list)
    route: dict[str, Any] = Field(default_factory=dict)
    context: dict[str, Any] = Field(default_factory=dict)
    batch_id: str | None = None
    published: bool = False
    recorded_at: datetime

    def summary(self) -> dict[str, Any]:
        """The short form listed by GET /decisions."""
        action = (self.decision or {}).get("action")
        if action is None and isinstance(self.raw_output, dict):
            action = self.raw_output.get("action")
        return {
            "decision_id": str(self.decision_id),
            "request_id": str(self.request_id),
            "symbol": self.symbol,
            "as_of": self.as_of.isoformat(),
            "status": str(self.status),
            "action": action,
            "reasons": self.reasons,
            "provider": self.provider,
            "model": self.model,
            "prompt_template": self.prompt_template,
            "cost_usd": str(self.cost_usd),
            "latency_ms": self.latency_ms,
            "recorded_at": self.recorded_at.isoformat(),
        }
