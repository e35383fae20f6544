"""Ports of the trading engine's use cases. Adapters implement them (exchange-calendars for
sessions, an in-process or persistent store for events and snapshots); tests use fakes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ..domain.events import DomainEvent
from ..domain.sessions import Session
from ..domain.state import EngineState


class SessionCalendar(Protocol):
    def session_at_or_after(self, calendar: str, ts: datetime) -> Session:
        """The regular session of ``calendar`` (e.g. "XNYS") that contains ``ts``, or the next
        one when the market is closed at ``ts``."""
        ...


class Clock(Protocol):
    def now(self) -> datetime:
        """Timezone-aware UTC now."""
        ...


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The engine state after ``version`` events of a stream."""

    version: int
    state: EngineState


class EventStore(Protocol):
    async def append(
        self, stream: str, expected_version: int, events: Sequence[DomainEvent]
    ) -> int:
        """Append ``events`` after exactly ``expected_version`` events; returns the new version.
        Raises ``trader_common.ports.ConcurrencyConflictError`` when the stream has moved on."""
        ...

    async def load(self, stream: str, after_version: int = 0) -> list[DomainEvent]:
        """The events after the first ``after_version`` ones, in order."""
        ...


class SnapshotStore(Protocol):
    async def save(self, stream: str, snapshot: Snapshot) -> None: ...

    async def latest(self, stream: str) -> Snapshot | None: ...
