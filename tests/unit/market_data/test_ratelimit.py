"""Rate budget arithmetic and Retry-After parsing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from market_data.domain.ratelimit import (
    RateBudget,
    backoff_seconds,
    parse_retry_after,
    retry_delay,
)

NOW = datetime(2024, 1, 2, 15, 0, tzinfo=UTC)


def test_rate_budget_burst_goes_at_once_then_paced() -> None:
    budget = RateBudget(rate_per_second=1, burst=3)
    waits = [budget.reserve(0.0) for _ in range(5)]
    assert waits == [0, 0, 0, 1, 2]


def test_rate_budget_per_minute_paces_at_the_documented_rate() -> None:
    budget = RateBudget.per_minute(60, burst=1)
    assert budget.reserve(0.0) == 0
    assert budget.reserve(0.0) == pytest.approx(1.0)


def test_rate_budget_refills_with_time() -> None:
    budget = RateBudget(rate_per_second=1, burst=1)
    budget.reserve(0.0)
    assert budget.reserve(5.0) == 0


def test_rate_budget_block_until_holds_every_caller() -> None:
    budget = RateBudget(rate_per_second=100, burst=10)
    budget.block_until(30.0)
    assert budget.reserve(0.0) == 30.0


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (1, 0)])
def test_rate_budget_invalid_configuration_is_refused(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        RateBudget(rate, burst)


def test_parse_retry_after_delta_seconds() -> None:
    assert parse_retry_after("7", NOW) == 7.0
    assert parse_retry_after(" 0 ", NOW) == 0.0


def test_parse_retry_after_http_date() -> None:
    assert parse_retry_after("Tue, 02 Jan 2024 15:00:30 GMT", NOW) == 30.0
    assert parse_retry_after("Tue, 02 Jan 2024 14:00:00 GMT", NOW) == 0.0


@pytest.mark.parametrize("bad", [None, "", "soon", "-3", "nan"])
def test_parse_retry_after_missing_or_garbage_is_none(bad: str | None) -> None:
    assert parse_retry_after(bad, NOW) is None


def test_retry_delay_prefers_retry_after_over_backoff() -> None:
    assert retry_delay(12.0, attempt=3) == 12.0
    assert retry_delay(None, attempt=0) == backoff_seconds(0) == 0.5
    assert retry_delay(None, attempt=10) == 30.0
