"""Client-side rate limiting and 429 back-off arithmetic (pure; callers do the waiting).

``RateBudget`` is a GCRA token bucket: ``burst`` calls may go at once, then one every
``1 / rate_per_second`` seconds. ``reserve`` books the next slot and says how long to wait for
it, so concurrent callers queue fairly. ``block_until`` holds every caller back until a time a
provider named in ``Retry-After``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


@dataclass
class RateBudget:
    rate_per_second: float
    burst: int = 1
    _tat: float = field(default=float("-inf"), init=False)
    _blocked_until: float = field(default=float("-inf"), init=False)

    def __post_init__(self) -> None:
        if self.rate_per_second <= 0:
            raise ValueError("rate_per_second must be positive")
        if self.burst < 1:
            raise ValueError("burst must be at least 1")

    @classmethod
    def per_minute(cls, calls: float, burst: int = 1) -> RateBudget:
        return cls(calls / 60.0, burst)

    def reserve(self, now: float) -> float:
        """Book a call slot; returns how many seconds from ``now`` the call must wait."""
        interval = 1.0 / self.rate_per_second
        tolerance = (self.burst - 1) * interval
        earliest = max(now, self._blocked_until)
        tat = max(self._tat, earliest)
        allowed_at = max(earliest, tat - tolerance)
        self._tat = tat + interval
        return allowed_at - now

    def block_until(self, until: float) -> None:
        self._blocked_until = max(self._blocked_until, until)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - now).total_seconds())
    if seconds != seconds or seconds < 0:  # NaN or negative
        return None
    return seconds


def backoff_seconds(attempt: int, base: float = 0.5, cap: float = 30.0) -> float:
    """Exponential back-off for attempt 0, 1, 2... (no jitter: deterministic for tests)."""
    return float(min(cap, base * (2 ** max(0, attempt))))


def retry_delay(
    retry_after: float | None, attempt: int, *, base: float = 0.5, cap: float = 30.0
) -> float:
    """The wait before retrying a 429: the provider's ``Retry-After`` when it gave one,
    otherwise exponential back-off."""
    return retry_after if retry_after is not None else backoff_seconds(attempt, base, cap)
