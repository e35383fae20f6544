"""Token usage and what it costs. Prices are USD per million tokens; a cache write costs 1.25×
the input price (5-minute cache), a cache read 0.1×; the Message Batches API halves it all."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

MILLION = Decimal(1_000_000)
CACHE_WRITE_MULTIPLIER = Decimal("1.25")
CACHE_READ_MULTIPLIER = Decimal("0.1")
BATCH_MULTIPLIER = Decimal("0.5")
COST_QUANTUM = Decimal("0.000001")  # micro-dollars


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """Tokens of one call, as the provider reported them. ``input_tokens`` excludes cached ones."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0

    @property
    def total_input_tokens(self) -> int:
        return self.input_tokens + self.cache_creation_input_tokens + self.cache_read_input_tokens

    @property
    def total_tokens(self) -> int:
        return self.total_input_tokens + self.output_tokens

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_creation_input_tokens + other.cache_creation_input_tokens,
            self.cache_read_input_tokens + other.cache_read_input_tokens,
        )

    def to_json(self) -> dict[str, int]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TokenUsage:
        return cls(
            int(data.get("input_tokens") or 0),
            int(data.get("output_tokens") or 0),
            int(data.get("cache_creation_input_tokens") or 0),
            int(data.get("cache_read_input_tokens") or 0),
        )


@dataclass(frozen=True, slots=True)
class ModelPrice:
    input_per_mtok: Decimal
    output_per_mtok: Decimal

    @property
    def cache_write_per_mtok(self) -> Decimal:
        return self.input_per_mtok * CACHE_WRITE_MULTIPLIER

    @property
    def cache_read_per_mtok(self) -> Decimal:
        return self.input_per_mtok * CACHE_READ_MULTIPLIER

    @property
    def free(self) -> bool:
        return self.input_per_mtok == 0 and self.output_per_mtok == 0


FREE = ModelPrice(Decimal("0"), Decimal("0"))

# List prices (USD per million tokens) of the models the platform is configured with by default.
# Override or extend with AI_DECISION_MODEL_PRICES.
DEFAULT_PRICES: Mapping[str, ModelPrice] = {
    "claude-haiku-4-5": ModelPrice(Decimal("1"), Decimal("5")),
    "claude-sonnet-4-5": ModelPrice(Decimal("3"), Decimal("15")),
    "claude-sonnet-4-6": ModelPrice(Decimal("3"), Decimal("15")),
    "claude-opus-4-5": ModelPrice(Decimal("5"), Decimal("25")),
    "claude-opus-4-6": ModelPrice(Decimal("5"), Decimal("25")),
    "claude-opus-4-1": ModelPrice(Decimal("15"), Decimal("75")),
}


class UnknownModelPriceError(LookupError):
    """A paid model has no price: its cost (and so the budget) could not be counted."""


@dataclass(frozen=True, slots=True)
class PriceTable:
    prices: Mapping[str, ModelPrice]

    def price(self, provider: str, model: str) -> ModelPrice:
        if provider == "local":
            return FREE
        if model in self.prices:
            return self.prices[model]
        # dated snapshots (claude-sonnet-4-5-20250929) cost what their alias costs
        for name, price in self.prices.items():
            if model.startswith(name + "-"):
                return price
        raise UnknownModelPriceError(
            f"no price for {provider} model {model!r}; add it to AI_DECISION_MODEL_PRICES"
        )

    def cost(self, provider: str, model: str, usage: TokenUsage, *, batch: bool = False) -> Decimal:
        """USD cost of ``usage`` on ``model`` (cache writes and reads included)."""
        price = self.price(provider, model)
        if price.free:
            return Decimal("0")
        total = (
            Decimal(usage.input_tokens) * price.input_per_mtok
            + Decimal(usage.cache_creation_input_tokens) * price.cache_write_per_mtok
            + Decimal(usage.cache_read_input_tokens) * price.cache_read_per_mtok
            + Decimal(usage.output_tokens) * price.output_per_mtok
        ) / MILLION
        if batch:
            total *= BATCH_MULTIPLIER
        return total.quantize(COST_QUANTUM)
