"""Event streams in the state store, with optimistic concurrency, snapshots and an outbox relay.

Every append is ONE single-key write guarded by an ETag, because that is the only atomic
conditional write every Dapr state store offers (Redis transactions do not roll back a failed
ETag check: the other writes of the transaction still happen). So a stream is:

- ``es|<stream>|head``           {"version": N, "segments": K, "events": [...]}: the newest
                                  events (fewer than SEGMENT_SIZE), guarded by its ETag
- ``es|<stream>|seg|<i:08d>``     {"events": [...]}: full, immutable segments 0..K-1
- ``es|<stream>|snapshot``        {"version": V, "state": ...}
- ``es|<stream>|published``       {"version": P}: the outbox relay's progress

When the head is full, the append first writes its events as segment K (the same content
whoever writes it, so a lost race leaves nothing wrong) and then replaces the head — the ETag
decides which writer's events follow. The event log is the outbox: the relay publishes every
event after P in order, then advances P. A crash between the two publishes that event again with
the same CloudEvent id (its event id), which JetStream de-duplicates and consumers ignore.

Two layers: ``append_records`` / ``load_records`` store already-serialized JSON records (each
gets its ``version``); ``append`` / ``load`` store contract ``Event``s as records of one
CloudEvent each. ``OutboxRelay`` publishes what ``messages(record)`` says (by default that one
CloudEvent), so a service with its own record format (the trading engine: a domain event, plus
the contract events of the command on the batch's last record) reuses the same log and relay.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .cloudevents import from_cloud_event, to_cloud_event
from .contracts import Event
from .ports import BulkStateStore, ConcurrencyConflictError

log = logging.getLogger(__name__)

SEGMENT_SIZE = 64


@dataclass(frozen=True, slots=True)
class StoredEvent:
    stream: str
    version: int
    topic: str
    partition_key: str
    cloud_event: dict[str, Any]

    def event(self) -> Event:
        return from_cloud_event(self.cloud_event)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "topic": self.topic,
            "partition_key": self.partition_key,
            "cloud_event": self.cloud_event,
        }

    @classmethod
    def from_json(cls, stream: str, data: dict[str, Any]) -> StoredEvent:
        return cls(
            stream=stream,
            version=int(data["version"]),
            topic=str(data["topic"]),
            partition_key=str(data["partition_key"]),
            cloud_event=dict(data["cloud_event"]),
        )


@dataclass(frozen=True, slots=True)
class Snapshot:
    version: int
    state: Any


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One message the relay publishes: a structured CloudEvent to a topic."""

    topic: str
    cloud_event: dict[str, Any]
    partition_key: str | None = None


class RawPublisher(Protocol):
    async def publish_raw(
        self, topic: str, body: Any, partition_key: str | None = None, *, raw: bool = False
    ) -> None: ...


def _key(stream: str, suffix: str) -> str:
    if "|" in stream or not stream:
        raise ValueError(f"invalid stream name {stream!r}: must be non-empty without '|'")
    return f"es|{stream}|{suffix}"


def _segment_key(stream: str, index: int) -> str:
    return _key(stream, f"seg|{index:08d}")


class EventStore:
    def __init__(
        self, state: BulkStateStore, source: str, segment_size: int = SEGMENT_SIZE
    ) -> None:
        self._state = state
        self._source = source
        self._segment_size = segment_size

    async def version(self, stream: str) -> int:
        head = await self._state.get(_key(stream, "head"))
        return int(head.value["version"]) if head else 0

    async def append(self, stream: str, expected_version: int, events: Sequence[Event]) -> int:
        """Append ``events`` after ``expected_version``; returns the new version.

        Raises ``ConcurrencyConflictError`` when the stream moved on (reload and decide again).
        """
        topics = [
            (str(e.topic), e.partition_key(), to_cloud_event(e, self._source)) for e in events
        ]
        return await self.append_records(
            stream,
            expected_version,
            [{"topic": t, "partition_key": k, "cloud_event": ce} for t, k, ce in topics],
        )

    async def append_records(
        self, stream: str, expected_version: int, records: Sequence[Mapping[str, Any]]
    ) -> int:
        """The lower layer: append already-serialized JSON records after ``expected_version``.

        Each record is stored with its ``version`` added; returns the new version. Raises
        ``ConcurrencyConflictError`` when the stream moved on.
        """
        head = await self._state.get(_key(stream, "head"))
        doc: dict[str, Any] = (
            dict(head.value) if head else {"version": 0, "segments": 0, "events": []}
        )
        if int(doc["version"]) != expected_version:
            raise ConcurrencyConflictError(
                f"stream {stream!r} is at version {doc['version']}, not {expected_version}"
            )
        if not records:
            return expected_version
        pending: list[dict[str, Any]] = list(doc["events"])
        segments = int(doc["segments"])
        if pending and len(pending) + len(records) > self._segment_size:
            await self._state.save(_segment_key(stream, segments), {"events": pending})
            segments += 1
            pending = []
        version = expected_version
        for record in records:
            version += 1
            pending.append({**record, "version": version})
        await self._state.save(
            _key(stream, "head"),
            {"version": version, "segments": segments, "events": pending},
            etag=head.etag if head else None,
            must_be_new=head is None,
        )
        return version

    async def load(
        self, stream: str, after_version: int = 0, up_to: int | None = None
    ) -> list[StoredEvent]:
        """Events with after_version < version <= up_to (default: the head), in order."""
        records = await self.load_records(stream, after_version, up_to)
        return [StoredEvent.from_json(stream, r) for r in records]

    async def load_records(
        self, stream: str, after_version: int = 0, up_to: int | None = None
    ) -> list[dict[str, Any]]:
        """Records with after_version < version <= up_to (default: the head), in order.

        Segments are read only when the head does not already start after ``after_version``.
        """
        head = await self._state.get(_key(stream, "head"))
        if head is None:
            return []
        head_events: list[dict[str, Any]] = list(head.value["events"])
        raw: list[dict[str, Any]]
        if head_events and int(head_events[0]["version"]) <= after_version + 1:
            raw = head_events
        else:
            segments = int(head.value["segments"])
            keys = [_segment_key(stream, i) for i in range(segments)]
            found = await self._state.get_bulk(keys) if keys else {}
            missing = [k for k in keys if k not in found]
            if missing:
                raise RuntimeError(f"stream {stream!r} is missing segments: {missing[:5]}")
            raw = [e for k in keys for e in found[k].value["events"]] + head_events
        last = up_to if up_to is not None else int(head.value["version"])
        return [r for r in raw if after_version < int(r["version"]) <= last]

    async def save_snapshot(self, stream: str, snapshot: Snapshot) -> None:
        await self._state.save(
            _key(stream, "snapshot"), {"version": snapshot.version, "state": snapshot.state}
        )

    async def load_snapshot(self, stream: str) -> Snapshot | None:
        item = await self._state.get(_key(stream, "snapshot"))
        if item is None:
            return None
        return Snapshot(int(item.value["version"]), item.value["state"])

    async def published_version(self, stream: str) -> tuple[int, str | None]:
        item = await self._state.get(_key(stream, "published"))
        return (int(item.value["version"]), item.etag) if item else (0, None)

    async def mark_published(self, stream: str, version: int, etag: str | None) -> None:
        await self._state.save(
            _key(stream, "published"), {"version": version}, etag=etag, must_be_new=etag is None
        )


def stored_event_messages(record: Mapping[str, Any]) -> list[OutboxMessage]:
    """The message of a record written by ``EventStore.append``: its one CloudEvent."""
    return [
        OutboxMessage(
            str(record["topic"]), dict(record["cloud_event"]), str(record["partition_key"])
        )
    ]


class OutboxRelay:
    """Publishes a stream's records in order, after they are durably appended.

    ``messages`` says what to publish for a record (default: the CloudEvent that
    ``EventStore.append`` stored); a record may carry none or several.
    """

    def __init__(
        self,
        store: EventStore,
        stream: str,
        publisher: RawPublisher,
        messages: Callable[[Mapping[str, Any]], Sequence[OutboxMessage]] = stored_event_messages,
    ) -> None:
        self._store = store
        self._stream = stream
        self._publisher = publisher
        self._messages = messages

    async def drain(self) -> int:
        """Publish everything appended but not yet published; returns how many messages were
        published."""
        published, etag = await self._store.published_version(self._stream)
        pending = await self._store.load_records(self._stream, published)
        count = 0
        stale = False  # the marker was written since ``etag`` was read
        for index, record in enumerate(pending):
            messages = self._messages(record)
            if not messages and index < len(pending) - 1:
                continue  # records without messages are marked with the next one
            for message in messages:
                await self._publisher.publish_raw(
                    message.topic, message.cloud_event, message.partition_key
                )
                count += 1
            version = int(record["version"])
            if stale:
                published, etag = await self._store.published_version(self._stream)
                if published >= version:
                    continue
            try:
                await self._store.mark_published(self._stream, version, etag)
            except ConcurrencyConflictError:
                # Another relay advanced it: stop here; the next drain re-reads its progress.
                log.info("outbox progress moved by another relay", extra={"stream": self._stream})
                return count
            stale = True
        return count
