"""Clocks and id factories for the engine."""

from __future__ import annotations

import itertools
import os
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID, SafeUUID


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class MarketClock:
    """Market time: the time of the latest market event the engine processed (replay and
    dual-run, where the bars are from the past: an order placed after a bar is then placed at
    that bar's close, so it fills at the next bar, exactly as in a backtest). Before the first
    market event it reads the Unix epoch. It never moves backwards."""

    def __init__(self) -> None:
        self._now = datetime(1970, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def observe(self, ts: datetime) -> None:
        if ts.tzinfo is None:
            raise ValueError("MarketClock needs timezone-aware times")
        if ts > self._now:
            self._now = ts


class ManualClock:
    """A clock that moves only when told to (backtests and tests)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start time")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, ts: datetime) -> None:
        if ts.tzinfo is None:
            raise ValueError("ManualClock needs timezone-aware times")
        self._now = ts

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now


_VERSION_MASK = ~((0xF000 << 64) | (0xC000 << 48))
_VERSION_4 = (0x4000 << 64) | (0x8000 << 48)


def random_ids() -> Callable[[], UUID]:
    """Version-4 UUIDs from a fast PRNG seeded by the OS: the ids need to be unique, not secret,
    and ``uuid.uuid4`` (a system call per id, then UUID's validating constructor) would cost a
    fifth of an order's time. The result equals ``UUID(int=..., version=4)``."""
    bits = random.Random(os.urandom(32)).getrandbits
    new = UUID.__new__
    # UUID refuses attribute writes; its slots' own setters are the cheapest way past that.
    set_int = UUID.__dict__["int"].__set__
    set_is_safe = UUID.__dict__["is_safe"].__set__
    unknown = SafeUUID.unknown

    def new_id() -> UUID:
        uid = new(UUID)
        set_int(uid, (bits(128) & _VERSION_MASK) | _VERSION_4)
        set_is_safe(uid, unknown)
        return uid

    return new_id


def sequential_ids(start: int = 1) -> Callable[[], UUID]:
    """Predictable ids for tests: 00000000-0000-0000-0000-000000000001, ..."""
    counter = itertools.count(start)
    return lambda: UUID(int=next(counter))
