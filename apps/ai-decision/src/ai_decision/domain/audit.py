"""The audit record of one decision — accepted, rejected or failed — as a person reads it back:
what was asked, what the model saw (context, template version, prompt hash), what it answered,
what it cost and took, and why it was accepted or rejected."""

from __future__ import annotations

import json
import math
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticSerializationError, to_jsonable_python

from trader_common.cloudevents import utf8_safe

from .commands import Task

#: How deep a model's raw answer is kept as JSON data; deeper parts are kept as JSON text (the
#: state store's serializer refuses data nested much deeper).
MAX_RAW_DEPTH = 32


def short_text(value: Any, limit: int) -> str:
    """``value`` as text for a reason or the audit trail (its ``repr`` unless it is text), cut
    to ``limit`` characters, lone surrogates escaped."""
    try:
        text = value if isinstance(value, str) else repr(value)
    except ValueError:  # an int too long to print
        text = f"<{type(value).__name__} too large to show>"
    return utf8_safe(text if len(text) <= limit else text[:limit] + "…")


def storable(value: Any, depth: int = 0) -> Any:
    """``value`` — what a model answered, as given — as JSON data the state store takes, losing
    nothing readable: text with lone surrogates escaped (:func:`utf8_safe`), numbers that are
    not finite as text (``"NaN"``, ``"Infinity"``), anything that is not JSON as its ``repr``,
    and what is nested deeper than :data:`MAX_RAW_DEPTH` as its JSON text."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else json.dumps(value)
    if isinstance(value, str):
        return utf8_safe(value)
    if isinstance(value, dict | list | tuple) and depth >= MAX_RAW_DEPTH:
        try:
            return json.dumps(value, ensure_ascii=True, allow_nan=True, default=repr)
        except (RecursionError, TypeError, ValueError):
            return f"<{type(value).__name__} nested deeper than the JSON encoder goes>"
    if isinstance(value, dict):
        return {utf8_safe(str(k)): storable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable(v, depth + 1) for v in value]
    try:  # Decimal, datetime, UUID...: as pydantic writes them in JSON
        jsonable = to_jsonable_python(value)
    except (PydanticSerializationError, TypeError, ValueError):
        jsonable = None
    if isinstance(jsonable, str | int | float):
        return storable(jsonable, depth)
    return short_text(value, 10_000)


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

    @field_validator("error")
    @classmethod
    def _safe_error(cls, value: str) -> str:
        return utf8_safe(value)


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

    @field_validator("raw_output", mode="before")
    @classmethod
    def _storable_output(cls, value: Any) -> Any:
        return storable(value)

    @field_validator("reasons")
    @classmethod
    def _safe_reasons(cls, value: list[str]) -> list[str]:
        return [utf8_safe(reason) for reason in value]

    @field_validator("stop_reason", "provider", "model", mode="before")
    @classmethod
    def _safe_label(cls, value: Any) -> Any:
        return None if value is None else short_text(value, 200)

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
