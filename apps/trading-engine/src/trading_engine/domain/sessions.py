"""Trading sessions as plain values: the caller (a SessionCalendar port) passes them in, so the
domain never reads a calendar itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from .errors import ConfigurationError

_BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)
_END = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Session:
    """One regular trading session: [open, close). For 24/7 markets use ``ALWAYS_OPEN``."""

    open: datetime
    close: datetime

    def __post_init__(self) -> None:
        if self.open.tzinfo is None or self.close.tzinfo is None:
            raise ConfigurationError("session open and close must be timezone-aware")
        if self.open >= self.close:
            raise ConfigurationError(
                f"session opens ({self.open}) at or after it closes ({self.close})"
            )

    def is_open(self, ts: datetime) -> bool:
        return self.open <= ts < self.close

    @property
    def around_the_clock(self) -> bool:
        return self.open == _BEGINNING and self.close == _END


ALWAYS_OPEN_SESSION = Session(_BEGINNING, _END)
