"""Bar timeframes of the event contract, their durations, and alignment helpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal, get_args

Timeframe = Literal["1Min", "5Min", "15Min", "1Hour", "1Day"]

TIMEFRAMES: tuple[Timeframe, ...] = get_args(Timeframe)

DURATIONS: dict[Timeframe, timedelta] = {
    "1Min": timedelta(minutes=1),
    "5Min": timedelta(minutes=5),
    "15Min": timedelta(minutes=15),
    "1Hour": timedelta(hours=1),
    "1Day": timedelta(days=1),
}

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_timeframe(value: str) -> Timeframe:
    """``value`` as a contract timeframe, or ``ValueError`` naming the choices."""
    for timeframe in TIMEFRAMES:
        if value == timeframe:
            return timeframe
    raise ValueError(f"unknown timeframe {value!r}; use one of {', '.join(TIMEFRAMES)}")


def floor_time(ts: datetime, step: timedelta) -> datetime:
    """The start of the ``step``-long bucket (aligned to the Unix epoch, UTC) holding ``ts``."""
    elapsed = ts.astimezone(UTC) - _EPOCH
    return _EPOCH + (elapsed // step) * step


def timeframe_for(step: timedelta) -> Timeframe | None:
    """The contract timeframe whose duration is ``step`` (``None`` when there is none)."""
    for timeframe, duration in DURATIONS.items():
        if duration == step:
            return timeframe
    return None
