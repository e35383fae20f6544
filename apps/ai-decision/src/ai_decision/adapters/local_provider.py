"""The local models as a provider: no key, no network, deterministic. Each model is a pure
function of the decision context (``domain/local_model.py``: the ensemble, the default;
``domain/sma_cross.py``: the backtester's sma-cross strategy)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from ..domain import local_model, sma_cross
from ..domain.context import DecisionContext
from ..domain.pricing import TokenUsage
from ..service.ports import ProviderCall, ProviderError, ProviderReply

LocalModel = Callable[[DecisionContext], dict[str, Any]]


def local_models(
    ensemble: local_model.EnsembleParams | None = None,
    sma: sma_cross.SmaCrossParams | None = None,
) -> dict[str, LocalModel]:
    """Every local model by name, with its parameters."""
    return {
        local_model.MODEL_NAME: lambda ctx: local_model.decide(ctx, ensemble),
        sma_cross.MODEL_NAME: lambda ctx: sma_cross.decide(ctx, sma),
    }


class LocalModelProvider:
    name = "local"

    def __init__(self, models: Mapping[str, LocalModel] | None = None) -> None:
        self._models = dict(models) if models is not None else local_models()

    async def decide(self, call: ProviderCall) -> ProviderReply:
        model = self._models.get(call.model)
        if model is None:
            raise ProviderError(
                f"local model {call.model!r} is not one of {sorted(self._models)}",
                kind="unknown_model",
            )
        started = time.perf_counter()
        output = model(call.context)
        return ProviderReply(
            tool_input=output,
            stop_reason="tool_use",
            usage=TokenUsage(),
            model=call.model,
            latency_ms=(time.perf_counter() - started) * 1000,
        )
