"""The local model as a provider: no key, no network, deterministic."""

from __future__ import annotations

import time

from ..domain.local_model import EnsembleParams, decide
from ..domain.pricing import TokenUsage
from ..service.ports import ProviderCall, ProviderError, ProviderReply


class LocalModelProvider:
    name = "local"

    def __init__(self, params: EnsembleParams | None = None, models: tuple[str, ...] = ()) -> None:
        self._params = params or EnsembleParams()
        self._models = models

    async def decide(self, call: ProviderCall) -> ProviderReply:
        if self._models and call.model not in self._models:
            raise ProviderError(
                f"local model {call.model!r} is not one of {self._models}", kind="unknown_model"
            )
        started = time.perf_counter()
        output = decide(call.context, self._params)
        return ProviderReply(
            tool_input=output,
            stop_reason="tool_use",
            usage=TokenUsage(),
            model=call.model,
            latency_ms=(time.perf_counter() - started) * 1000,
        )
