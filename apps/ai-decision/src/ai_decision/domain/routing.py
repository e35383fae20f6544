"""LLM routing: which model decides, chosen by configuration — per strategy, per task, by the
daily token/cost budget (downgrade, then fall back) and by health (a circuit per model opens after
repeated failures). Pure: the service keeps budget and circuit state in the state store."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .commands import Task
from .pricing import PriceTable, TokenUsage

PROVIDERS = ("claude", "local")


@dataclass(frozen=True, slots=True, order=True)
class Target:
    """One model of one provider, written ``provider:model`` (e.g. ``claude:claude-haiku-4-5``)."""

    provider: str
    model: str

    def __str__(self) -> str:
        return f"{self.provider}:{self.model}"

    @classmethod
    def parse(cls, text: str) -> Target:
        provider, sep, model = text.strip().partition(":")
        if not sep or not model:
            raise ValueError(f"route target {text!r} is not of the form provider:model")
        if provider not in PROVIDERS:
            raise ValueError(f"route target {text!r}: unknown provider {provider!r} ({PROVIDERS})")
        return cls(provider, model)


LOCAL_DEFAULT = "local:ensemble-v1"


def _chain(value: Any) -> Any:
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    return value


class RoutingPolicy(BaseModel):
    """Model chains by task, with per-strategy overrides; the fallback ends every chain.

    ``{"tasks": {"fast": ["claude:claude-haiku-4-5"], "deep": ["claude:claude-sonnet-4-6",
    "claude:claude-haiku-4-5"]}, "strategies": {"momo-1": {"deep": ["claude:claude-opus-4-6"]}}}``
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    tasks: dict[Task, list[str]] = Field(default_factory=dict)
    strategies: dict[str, dict[Task, list[str]]] = Field(default_factory=dict)
    fallback: str = LOCAL_DEFAULT

    @field_validator("tasks", mode="before")
    @classmethod
    def _split_tasks(cls, value: Any) -> Any:
        return {k: _chain(v) for k, v in value.items()} if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _targets_parse(self) -> RoutingPolicy:
        Target.parse(self.fallback)
        for chain in [
            *self.tasks.values(),
            *(c for s in self.strategies.values() for c in s.values()),
        ]:
            if not chain:
                raise ValueError("a route chain needs at least one target")
            for text in chain:
                Target.parse(text)
        return self

    def chain(self, strategy_id: str, task: Task) -> list[Target]:
        """The configured targets for ``strategy_id`` and ``task``, fallback last."""
        texts = self.strategies.get(strategy_id, {}).get(task) or self.tasks.get(task)
        if texts is None and task == Task.OVERNIGHT:
            texts = self.strategies.get(strategy_id, {}).get(Task.DEEP) or self.tasks.get(Task.DEEP)
        targets = [Target.parse(t) for t in texts or []]
        fallback = Target.parse(self.fallback)
        if fallback not in targets:
            targets.append(fallback)
        return targets

    def all_targets(self) -> list[Target]:
        found: set[Target] = {Target.parse(self.fallback)}
        for chain in [
            *self.tasks.values(),
            *(c for s in self.strategies.values() for c in s.values()),
        ]:
            found.update(Target.parse(t) for t in chain)
        return sorted(found)


# --- budget -----------------------------------------------------------------------------------


class BudgetLevel(StrEnum):
    OK = "ok"
    DOWNGRADE = "downgrade"  # past the downgrade threshold: skip the primary model
    EXHAUSTED = "exhausted"  # spent: paid models are skipped, the fallback decides


@dataclass(frozen=True, slots=True)
class BudgetPolicy:
    daily_usd: Decimal | None = None
    daily_tokens: int | None = None
    downgrade_at: Decimal = Decimal("0.8")


@dataclass(frozen=True, slots=True)
class BudgetState:
    """What was spent on paid models on one UTC day."""

    day: date
    spent_usd: Decimal = Decimal("0")
    tokens: int = 0
    calls: int = 0

    def level(self, policy: BudgetPolicy) -> BudgetLevel:
        fractions: list[Decimal] = []
        if policy.daily_usd is not None:
            fractions.append(
                self.spent_usd / policy.daily_usd if policy.daily_usd > 0 else Decimal("Infinity")
            )
        if policy.daily_tokens is not None:
            fractions.append(
                Decimal(self.tokens) / Decimal(policy.daily_tokens)
                if policy.daily_tokens > 0
                else Decimal("Infinity")
            )
        used = max(fractions, default=Decimal("0"))
        if used >= 1:
            return BudgetLevel.EXHAUSTED
        if used >= policy.downgrade_at:
            return BudgetLevel.DOWNGRADE
        return BudgetLevel.OK

    def charge(self, cost: Decimal, usage: TokenUsage) -> BudgetState:
        return replace(
            self,
            spent_usd=self.spent_usd + cost,
            tokens=self.tokens + usage.total_tokens,
            calls=self.calls + 1,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "spent_usd": str(self.spent_usd),
            "tokens": self.tokens,
            "calls": self.calls,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BudgetState:
        return cls(
            day=date.fromisoformat(str(data["day"])),
            spent_usd=Decimal(str(data.get("spent_usd", "0"))),
            tokens=int(data.get("tokens", 0)),
            calls=int(data.get("calls", 0)),
        )


# --- circuit breaker --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CircuitPolicy:
    failure_threshold: int = 3
    open_seconds: float = 60.0


@dataclass(frozen=True, slots=True)
class CircuitState:
    """Consecutive failures of one target; open (skipped) from ``opened_at`` for a while, then
    half-open: the next call is a trial that closes it on success or reopens it on failure."""

    failures: int = 0
    opened_at: datetime | None = None
    last_error: str = ""

    def status(self, now: datetime, policy: CircuitPolicy) -> str:
        if self.opened_at is None:
            return "closed"
        if now - self.opened_at >= timedelta(seconds=policy.open_seconds):
            return "half-open"
        return "open"

    def allows(self, now: datetime, policy: CircuitPolicy) -> bool:
        return self.status(now, policy) != "open"

    def succeeded(self) -> CircuitState:
        return CircuitState()

    def failed(self, now: datetime, policy: CircuitPolicy, error: str) -> CircuitState:
        failures = self.failures + 1
        reopen = self.opened_at is not None  # a failed half-open trial reopens at once
        opened = now if reopen or failures >= policy.failure_threshold else None
        return CircuitState(failures=failures, opened_at=opened, last_error=error[:500])

    def to_json(self) -> dict[str, Any]:
        return {
            "failures": self.failures,
            "opened_at": None if self.opened_at is None else self.opened_at.isoformat(),
            "last_error": self.last_error,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CircuitState:
        opened = data.get("opened_at")
        return cls(
            failures=int(data.get("failures", 0)),
            opened_at=None if opened is None else datetime.fromisoformat(str(opened)),
            last_error=str(data.get("last_error", "")),
        )


# --- the plan ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RoutePlan:
    """Targets to try in order, and the ones passed over with the reason."""

    candidates: tuple[Target, ...]
    skipped: tuple[tuple[Target, str], ...]
    budget_level: BudgetLevel


def plan_route(
    chain: Sequence[Target],
    budget_level: BudgetLevel,
    circuits: Mapping[Target, CircuitState],
    now: datetime,
    prices: PriceTable,
    circuit_policy: CircuitPolicy,
) -> RoutePlan:
    """Order of targets to try. Budget first (downgrade skips the primary, exhausted skips every
    paid model), then health (open circuits are skipped). The last target — the fallback — is
    only skipped when its own circuit is open."""
    candidates: list[Target] = []
    skipped: list[tuple[Target, str]] = []
    for index, target in enumerate(chain):
        paid = not prices.price(target.provider, target.model).free
        state = circuits.get(target, CircuitState())
        if paid and budget_level == BudgetLevel.EXHAUSTED:
            skipped.append((target, "daily budget spent"))
        elif paid and budget_level == BudgetLevel.DOWNGRADE and index == 0 and len(chain) > 1:
            skipped.append((target, "daily budget past the downgrade threshold"))
        elif not state.allows(now, circuit_policy):
            skipped.append(
                (target, f"circuit open after {state.failures} failures: {state.last_error}")
            )
        else:
            candidates.append(target)
    return RoutePlan(tuple(candidates), tuple(skipped), budget_level)
