"""The circuit breaker state machine and its health."""

from __future__ import annotations

import pytest

from market_data.domain.breaker import BreakerState, CircuitBreaker
from trader_common.contracts import ConnectorHealth


def test_breaker_opens_after_threshold_consecutive_failures() -> None:
    breaker = CircuitBreaker(failure_threshold=3, cooldown_seconds=10)
    for _ in range(2):
        breaker.record_failure(0, "boom")
        assert breaker.state is BreakerState.CLOSED
    assert breaker.health is ConnectorHealth.DEGRADED
    breaker.record_failure(0, "boom")
    assert breaker.state is BreakerState.OPEN
    assert breaker.health is ConnectorHealth.DOWN
    assert not breaker.allow(5)
    assert breaker.retry_in(5) == 5


def test_breaker_half_open_allows_one_trial_after_cooldown() -> None:
    breaker = CircuitBreaker(failure_threshold=1, cooldown_seconds=10)
    breaker.record_failure(0, "boom")
    assert breaker.allow(10)
    assert breaker.state is BreakerState.HALF_OPEN
    assert not breaker.allow(10)
    assert breaker.health is ConnectorHealth.DOWN


def test_breaker_trial_success_closes_and_heals() -> None:
    breaker = CircuitBreaker(failure_threshold=1, cooldown_seconds=10)
    breaker.record_failure(0, "boom")
    breaker.allow(11)
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.health is ConnectorHealth.HEALTHY
    assert breaker.last_error is None


def test_breaker_trial_failure_reopens_for_another_cooldown() -> None:
    breaker = CircuitBreaker(failure_threshold=5, cooldown_seconds=10)
    for _ in range(5):
        breaker.record_failure(0, "boom")
    breaker.allow(10)
    breaker.record_failure(10, "still down")
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow(19)
    assert breaker.allow(20)


def test_breaker_neutral_outcome_releases_the_trial() -> None:
    breaker = CircuitBreaker(failure_threshold=1, cooldown_seconds=1)
    breaker.record_failure(0, "boom")
    assert breaker.allow(1)
    breaker.record_neutral()
    assert breaker.allow(1)


def test_breaker_success_resets_failure_count() -> None:
    breaker = CircuitBreaker(failure_threshold=2, cooldown_seconds=1)
    breaker.record_failure(0, "boom")
    breaker.record_success()
    breaker.record_failure(0, "boom")
    assert breaker.state is BreakerState.CLOSED


@pytest.mark.parametrize(("threshold", "cooldown"), [(0, 1), (1, 0)])
def test_breaker_invalid_configuration_is_refused(threshold: int, cooldown: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        CircuitBreaker(failure_threshold=threshold, cooldown_seconds=cooldown)
