"""De-duplication and per-symbol ordering of market events.

Each stream of facts is keyed by (kind, symbol) - and the timeframe for bars. Within a stream
time only moves forward: an event older than the last one admitted is dropped as out of order,
and an event identical to one already admitted at the same time is dropped as a duplicate.
Events at the same time that differ (two trades in the same microsecond) are both kept.

``plan`` decides without changing state, ``commit`` records what was actually published, so a
batch whose publish failed can be planned again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from trader_common.contracts import BarClosed, Event, QuoteUpdated, TradePrinted

StreamKey = tuple[str, ...]


def stream_key(event: Event) -> StreamKey:
    if isinstance(event, BarClosed):
        return ("bar", event.symbol, event.timeframe)
    if isinstance(event, QuoteUpdated):
        return ("quote", event.symbol)
    if isinstance(event, TradePrinted):
        return ("trade", event.symbol)
    return (event.event_name, event.partition_key())


def identity(event: Event) -> tuple[object, ...]:
    """What makes two events the same fact (ignoring event id and recording time)."""
    if isinstance(event, BarClosed):
        # A bar is identified by its stream and open time; a later copy is a duplicate even if
        # a provider revised its values (revisions are not published, see docs).
        return ("bar", event.symbol, event.timeframe, event.ts_open)
    if isinstance(event, QuoteUpdated):
        return (event.ts_event, event.bid, event.ask, event.bid_size, event.ask_size)
    if isinstance(event, TradePrinted):
        return (event.ts_event, event.price, event.size)
    data = event.payload()
    data.pop("event_id", None)
    data.pop("ts_recorded", None)
    return (event.ts_event, repr(sorted(data.items())))


def order_key(event: Event) -> datetime:
    return event.ts_open if isinstance(event, BarClosed) else event.ts_event


@dataclass
class _Stream:
    last: datetime
    seen_at_last: set[tuple[object, ...]] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class Plan:
    admitted: list[Event]
    duplicates: int
    out_of_order: int


@dataclass
class Sequencer:
    streams: dict[StreamKey, _Stream] = field(default_factory=dict)

    def plan(self, events: Iterable[Event]) -> Plan:
        """Sort each stream by time, then drop duplicates and late events."""
        ordered = sorted(events, key=lambda e: (stream_key(e), order_key(e)))
        admitted: list[Event] = []
        duplicates = late = 0
        pending: dict[StreamKey, _Stream] = {}
        for event in ordered:
            key = stream_key(event)
            at = order_key(event)
            ident = identity(event)
            current = pending.get(key) or self.streams.get(key)
            if current is not None:
                if at < current.last:
                    late += 1
                    continue
                if at == current.last and ident in current.seen_at_last:
                    duplicates += 1
                    continue
            if current is None or at > current.last:
                pending[key] = _Stream(at, {ident})
            else:
                pending[key] = _Stream(at, {*current.seen_at_last, ident})
            admitted.append(event)
        return Plan(_interleave(admitted), duplicates, late)

    def commit(self, published: Sequence[Event]) -> None:
        for event in published:
            key = stream_key(event)
            at = order_key(event)
            current = self.streams.get(key)
            if current is None or at > current.last:
                self.streams[key] = _Stream(at, {identity(event)})
            elif at == current.last:
                current.seen_at_last.add(identity(event))


def _interleave(events: list[Event]) -> list[Event]:
    """Events in time order overall, each stream's own order kept (the sort is stable)."""
    return sorted(events, key=lambda e: e.ts_event)
