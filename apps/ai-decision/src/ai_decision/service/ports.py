"""Ports of the decision service: model providers (real-time and batch), prompt rendering, news.
Adapters implement them; the use cases depend only on these."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from ..domain.context import DecisionContext, Headline
from ..domain.pricing import TokenUsage
from ..domain.prompt import RenderedPrompt, TemplateRef


class ProviderError(RuntimeError):
    """A provider could not answer (after its own retries): try the next target."""

    def __init__(self, message: str, *, kind: str = "error") -> None:
        super().__init__(message)
        self.kind = kind  # rate_limited | overloaded | timeout | connection | api_error | ...


@dataclass(frozen=True, slots=True)
class ProviderCall:
    model: str
    prompt: RenderedPrompt
    context: DecisionContext
    max_tokens: int = 1024


@dataclass(frozen=True, slots=True)
class ProviderReply:
    """What a provider answered. ``tool_input`` is the decision tool's input exactly as given
    (``None`` when the model called no tool); validation decides whether it is a decision."""

    tool_input: object | None
    stop_reason: str | None
    usage: TokenUsage
    model: str
    text: str = ""
    response_id: str | None = None
    latency_ms: float = 0.0
    retries: int = 0


class DecisionProvider(Protocol):
    name: str

    async def decide(self, call: ProviderCall) -> ProviderReply: ...


@dataclass(frozen=True, slots=True)
class BatchStatus:
    batch_id: str
    ended: bool
    processing_status: str
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BatchItemResult:
    custom_id: str
    reply: ProviderReply | None
    error: str | None = None


class BatchProvider(Protocol):
    """Non-urgent work through a provider's batch API (the Message Batches API for Claude)."""

    name: str

    async def submit(self, model: str, calls: Sequence[tuple[str, ProviderCall]]) -> str: ...

    async def status(self, batch_id: str) -> BatchStatus: ...

    async def results(self, batch_id: str) -> list[BatchItemResult]: ...


class PromptRenderer(Protocol):
    def render(self, template: TemplateRef, context: DecisionContext) -> RenderedPrompt: ...


class NewsUnavailableError(RuntimeError):
    """The news source could not answer; the decision goes ahead without headlines."""


class NewsSource(Protocol):
    async def headlines(self, symbol: str, until: datetime, limit: int) -> list[Headline]: ...
