"""Cost from token usage: input, output, cache writes (1.25x) and reads (0.1x), batches (0.5x)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ai_decision.domain.pricing import (
    DEFAULT_PRICES,
    PriceTable,
    TokenUsage,
    UnknownModelPriceError,
)

PRICES = PriceTable(DEFAULT_PRICES)


def test_cost_counts_every_usage_field() -> None:
    usage = TokenUsage(
        input_tokens=1_000,
        output_tokens=200,
        cache_creation_input_tokens=2_000,
        cache_read_input_tokens=10_000,
    )
    # sonnet: $3 in, $15 out, cache write $3.75, cache read $0.30 per million
    expected = (
        Decimal(1_000) * 3
        + Decimal(200) * 15
        + Decimal(2_000) * Decimal("3.75")
        + Decimal(10_000) * Decimal("0.3")
    ) / 1_000_000
    assert PRICES.cost("claude", "claude-sonnet-4-6", usage) == expected.quantize(
        Decimal("0.000001")
    )


def test_cost_batch_is_half_price() -> None:
    usage = TokenUsage(input_tokens=1_000_000, output_tokens=1_000_000)
    assert PRICES.cost("claude", "claude-haiku-4-5", usage) == Decimal("6.000000")
    assert PRICES.cost("claude", "claude-haiku-4-5", usage, batch=True) == Decimal("3.000000")


def test_cost_cache_read_is_cheaper_than_uncached_input() -> None:
    cached = TokenUsage(input_tokens=100, cache_read_input_tokens=5_000, output_tokens=50)
    uncached = TokenUsage(input_tokens=5_100, output_tokens=50)
    assert PRICES.cost("claude", "claude-haiku-4-5", cached) < PRICES.cost(
        "claude", "claude-haiku-4-5", uncached
    )


def test_cost_local_model_is_free() -> None:
    assert PRICES.cost("local", "ensemble-v1", TokenUsage(10, 10)) == Decimal("0")


def test_cost_dated_model_uses_its_alias_price() -> None:
    assert (
        PRICES.price("claude", "claude-sonnet-4-5-20250929") == DEFAULT_PRICES["claude-sonnet-4-5"]
    )


def test_cost_unknown_model_names_the_setting() -> None:
    with pytest.raises(UnknownModelPriceError, match="AI_DECISION_MODEL_PRICES"):
        PRICES.price("claude", "claude-imaginary-9")


def test_usage_totals_include_cache_fields() -> None:
    usage = TokenUsage(1, 2, 3, 4) + TokenUsage(1, 1, 1, 1)
    assert usage == TokenUsage(2, 3, 4, 5)
    assert usage.total_input_tokens == 11
    assert usage.total_tokens == 14
    assert TokenUsage.from_json(usage.to_json()) == usage
