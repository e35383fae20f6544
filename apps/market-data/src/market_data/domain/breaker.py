"""A connector's circuit breaker: closed, open after consecutive failures, half-open after a
cool-down (one trial call at a time), closed again on the first success.

Pure: the caller passes the monotonic time; nothing here sleeps or reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from trader_common.contracts import ConnectorHealth


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


@dataclass
class CircuitBreaker:
    failure_threshold: int = 5
    cooldown_seconds: float = 30.0
    state: BreakerState = BreakerState.CLOSED
    consecutive_failures: int = 0
    opened_at: float | None = None
    last_error: str | None = None
    _trial_in_flight: bool = False

    def __post_init__(self) -> None:
        if self.failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if self.cooldown_seconds <= 0:
            raise ValueError("cooldown_seconds must be positive")

    def allow(self, now: float) -> bool:
        """Whether a call may go to the provider now."""
        if self.state is BreakerState.OPEN:
            if self.opened_at is not None and now - self.opened_at >= self.cooldown_seconds:
                self.state = BreakerState.HALF_OPEN
                self._trial_in_flight = True
                return True
            return False
        if self.state is BreakerState.HALF_OPEN:
            if self._trial_in_flight:
                return False
            self._trial_in_flight = True
        return True

    def retry_in(self, now: float) -> float:
        """Seconds until an open breaker lets a trial call through (0 when it would now)."""
        if self.state is not BreakerState.OPEN or self.opened_at is None:
            return 0.0
        return max(0.0, self.cooldown_seconds - (now - self.opened_at))

    def record_success(self) -> None:
        self.state = BreakerState.CLOSED
        self.consecutive_failures = 0
        self.opened_at = None
        self.last_error = None
        self._trial_in_flight = False

    def record_failure(self, now: float, reason: str) -> None:
        self.consecutive_failures += 1
        self.last_error = reason
        self._trial_in_flight = False
        if (
            self.state is BreakerState.HALF_OPEN
            or self.consecutive_failures >= self.failure_threshold
        ):
            self.state = BreakerState.OPEN
            self.opened_at = now

    def record_neutral(self) -> None:
        """A call that said nothing about the provider's health (e.g. an unsupported request)."""
        self._trial_in_flight = False

    @property
    def health(self) -> ConnectorHealth:
        # Half-open stays down until the trial call proves the provider is back.
        if self.state is not BreakerState.CLOSED:
            return ConnectorHealth.DOWN
        if self.consecutive_failures > 0:
            return ConnectorHealth.DEGRADED
        return ConnectorHealth.HEALTHY
