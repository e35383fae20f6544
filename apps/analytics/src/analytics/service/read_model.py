"""Use cases that keep the read model: take in a delivered event (once), and rebuild the whole
model from the event log. The store (PostgreSQL) plugs in through ``ReadModelStore``."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, Protocol
from uuid import UUID

from analytics.domain.errors import AnalyticsInputError
from analytics.domain.facts import EventFacts, EventRejectedError, facts_of
from trader_common.contracts import Event, EventDecodeError, decode_event

log = logging.getLogger(__name__)

IngestOutcome = Literal["applied", "duplicate", "ignored"]


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """An event as the event log keeps it: enough to decode it again for a rebuild."""

    event_id: UUID
    type: str
    topic: str
    partition_key: str
    ts_event: datetime
    ts_recorded: datetime
    payload: Mapping[str, Any]

    @classmethod
    def of(cls, event: Event) -> LoggedEvent:
        return cls(
            event_id=event.event_id,
            type=event.cloud_event_type(),
            topic=str(event.topic),
            partition_key=event.partition_key(),
            ts_event=event.ts_event,
            ts_recorded=event.ts_recorded,
            payload=event.payload(),
        )


FactsOfPayload = Callable[[str, Mapping[str, Any]], EventFacts | None]
"""Decode a logged event (type, payload) into its facts; raises ``AnalyticsInputError`` (or
``EventDecodeError``) for one that can no longer be read."""


@dataclass(frozen=True, slots=True)
class RebuildResult:
    events: int
    """Events in the log."""
    applied: int
    skipped: int
    """Events that could not be decoded any more (see the log)."""


class ReadModelStore(Protocol):
    async def apply(self, logged: LoggedEvent, facts: EventFacts) -> bool:
        """Log the event and project its facts, atomically; ``False`` (and no change at all)
        when the event id was processed before. Raises ``EventRejectedError`` for facts the
        store cannot hold, ``PlatformUnavailableError`` when it is unreachable."""
        ...

    async def rebuild(self, facts_of_payload: FactsOfPayload) -> RebuildResult:
        """Delete every projection and re-project the event log, atomically."""
        ...


class ReadModelService:
    def __init__(
        self,
        store: ReadModelStore,
        *,
        default_account_id: str,
        starting_cash_of: Callable[[str], Decimal],
    ) -> None:
        if not default_account_id:
            raise AnalyticsInputError("default account id must not be empty")
        self._store = store
        self._default_account_id = default_account_id
        self._starting_cash_of = starting_cash_of

    def facts(self, event: Event) -> EventFacts | None:
        return facts_of(
            event,
            default_account_id=self._default_account_id,
            starting_cash_of=self._starting_cash_of,
        )

    async def ingest(self, event: Event) -> IngestOutcome:
        """Apply a delivered event once. Redelivered or replayed events change nothing.
        Raises ``EventRejectedError`` for an event the read model cannot use."""
        facts = self.facts(event)
        if facts is None:
            return "ignored"
        applied = await self._store.apply(LoggedEvent.of(event), facts)
        return "applied" if applied else "duplicate"

    def _facts_of_payload(self, type_: str, payload: Mapping[str, Any]) -> EventFacts | None:
        try:
            event = decode_event(type_, dict(payload))
        except EventDecodeError as error:
            raise EventRejectedError(str(error)) from None
        return self.facts(event)

    async def rebuild(self) -> RebuildResult:
        """Re-project the whole read model from the event log."""
        result = await self._store.rebuild(self._facts_of_payload)
        log.info(
            "read model rebuilt",
            extra={"events": result.events, "applied": result.applied, "skipped": result.skipped},
        )
        return result
