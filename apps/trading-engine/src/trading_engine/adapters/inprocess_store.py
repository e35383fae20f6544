"""In-process event store and snapshot store: the persistence ports in one process, with the
same optimistic-concurrency rule a database adapter must follow."""

from __future__ import annotations

from collections.abc import Sequence

from trader_common.contracts import Event
from trader_common.ports import ConcurrencyConflictError

from ..domain.events import DomainEvent
from ..service.ports import Snapshot


class InMemoryEventStore:
    def __init__(self) -> None:
        self._streams: dict[str, list[DomainEvent]] = {}
        self.outbox: list[Event] = []  # every outbox message appended, in order

    async def append(
        self,
        stream: str,
        expected_version: int,
        events: Sequence[DomainEvent],
        outbox: Sequence[Event] = (),
    ) -> int:
        stored = self._streams.setdefault(stream, [])
        if expected_version != len(stored):
            raise ConcurrencyConflictError(
                f"stream {stream!r} is at version {len(stored)}, not {expected_version}"
            )
        stored.extend(events)
        self.outbox.extend(outbox)
        return len(stored)

    async def load(self, stream: str, after_version: int = 0) -> list[DomainEvent]:
        if after_version < 0:
            raise ValueError(f"after_version must not be negative, got {after_version}")
        return list(self._streams.get(stream, [])[after_version:])

    def version(self, stream: str) -> int:
        return len(self._streams.get(stream, []))


class InMemorySnapshotStore:
    """Keeps the latest snapshot per stream as an independent copy of the state."""

    def __init__(self) -> None:
        self._latest: dict[str, Snapshot] = {}

    async def save(self, stream: str, snapshot: Snapshot) -> None:
        current = self._latest.get(stream)
        if current is None or snapshot.version >= current.version:
            self._latest[stream] = Snapshot(snapshot.version, snapshot.state.snapshot())

    async def latest(self, stream: str) -> Snapshot | None:
        return self._latest.get(stream)
