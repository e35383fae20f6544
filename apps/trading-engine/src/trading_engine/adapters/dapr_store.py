"""The trading engine's EventStore, Outbox and SnapshotStore over the Dapr state store.

They reuse ``trader_common.eventstore`` (docs/adr/0005): one stream per engine, every append
ONE single-key write of the stream head guarded by its ETag, immutable segments, a snapshot key
and the outbox relay's progress marker. A record is one domain event in JSON
(``{"event": {"type": ..., "data": ...}}``); the last record of an append also carries the
contract events to publish for the batch as CloudEvents (``"outbox": [...]``), so the state
change and what must be published are stored atomically. ``DaprOutbox`` publishes them in
order and then advances the progress marker.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from trader_common.cloudevents import to_cloud_event
from trader_common.contracts import Event
from trader_common.eventstore import EventStore as RecordStore
from trader_common.eventstore import OutboxMessage, OutboxRelay, RawPublisher
from trader_common.eventstore import Snapshot as StoredSnapshot

from ..domain.events import DomainEvent
from ..service.codec import decode_event, encode_event
from ..service.ports import Snapshot
from ..service.state_codec import decode_state, encode_state


class DaprEventStore:
    """``service.ports.EventStore`` on a ``trader_common.eventstore.EventStore``."""

    def __init__(self, records: RecordStore, source: str) -> None:
        self._records = records
        self._source = source

    async def append(
        self,
        stream: str,
        expected_version: int,
        events: Sequence[DomainEvent],
        outbox: Sequence[Event] = (),
    ) -> int:
        records: list[dict[str, Any]] = [{"event": encode_event(e)} for e in events]
        if outbox:
            if not records:
                raise ValueError("outbox messages need at least one event to travel with")
            records[-1]["outbox"] = [
                {
                    "topic": str(m.topic),
                    "partition_key": m.partition_key(),
                    "cloud_event": to_cloud_event(m, self._source),
                }
                for m in outbox
            ]
        return await self._records.append_records(stream, expected_version, records)

    async def load(self, stream: str, after_version: int = 0) -> list[DomainEvent]:
        if after_version < 0:
            raise ValueError(f"after_version must not be negative, got {after_version}")
        records = await self._records.load_records(stream, after_version)
        return [decode_event(r["event"]) for r in records]


def outbox_messages(record: Mapping[str, Any]) -> list[OutboxMessage]:
    return [
        OutboxMessage(str(m["topic"]), dict(m["cloud_event"]), str(m["partition_key"]))
        for m in record.get("outbox", ())
    ]


class DaprOutbox:
    """``service.ports.Outbox``: the outbox relay over the stream's records."""

    def __init__(self, records: RecordStore, stream: str, publisher: RawPublisher) -> None:
        self._relay = OutboxRelay(records, stream, publisher, messages=outbox_messages)

    async def drain(self) -> int:
        return await self._relay.drain()


class DaprSnapshotStore:
    """``service.ports.SnapshotStore``: the engine state as JSON (``service.state_codec``) in
    the stream's snapshot key."""

    def __init__(self, records: RecordStore) -> None:
        self._records = records

    async def save(self, stream: str, snapshot: Snapshot) -> None:
        await self._records.save_snapshot(
            stream, StoredSnapshot(snapshot.version, encode_state(snapshot.state))
        )

    async def latest(self, stream: str) -> Snapshot | None:
        stored = await self._records.load_snapshot(stream)
        if stored is None:
            return None
        return Snapshot(stored.version, decode_state(stored.state))
