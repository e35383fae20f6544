"""Ports of the trading engine's use cases. Adapters implement them (exchange-calendars for
sessions, an in-process or persistent store for events and snapshots); tests use fakes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from trader_common.contracts import Event

from ..domain.broker import BrokerReport
from ..domain.events import DomainEvent
from ..domain.orders import OrderView
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
        self,
        stream: str,
        expected_version: int,
        events: Sequence[DomainEvent],
        outbox: Sequence[Event] = (),
    ) -> int:
        """Append ``events`` after exactly ``expected_version`` events; returns the new version.
        ``outbox``: the contract events to publish for them, stored in the same atomic write
        (an ``Outbox`` publishes them later). Raises
        ``trader_common.ports.ConcurrencyConflictError`` when the stream has moved on."""
        ...

    async def load(self, stream: str, after_version: int = 0) -> list[DomainEvent]:
        """The events after the first ``after_version`` ones, in order."""
        ...


class Outbox(Protocol):
    async def drain(self) -> int:
        """Publish, in order, every outbox message stored but not yet published; returns how
        many were published. Safe to repeat: a message published again carries its id."""
        ...


class SnapshotStore(Protocol):
    async def save(self, stream: str, snapshot: Snapshot) -> None: ...

    async def latest(self, stream: str) -> Snapshot | None: ...


class BrokerRejectedError(Exception):
    """The broker refused the request (an HTTP 4xx): ``reason`` is its answer, for a person.
    Retrying the same request would be refused again."""

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class BrokerUnavailableError(Exception):
    """The broker gave no usable answer (rate limited after the retries, 5xx, network, a body
    that does not parse): whether the request took effect is unknown; reconciliation finds
    out."""


class Broker(Protocol):
    """An external broker that executes our orders (external execution). Its reports come
    back through ``RoutedTradingService.on_broker_report`` (a stream) and from ``get``."""

    async def submit(self, order: OrderView) -> BrokerReport:
        """Place ``order`` under its client order id; the broker's first report on it."""
        ...

    async def replace(self, broker_order_id: str, new: OrderView) -> BrokerReport:
        """Replace the broker's order with ``new`` (its qty, prices, time in force, client
        order id); the broker's first report on the new order."""
        ...

    async def cancel(self, broker_order_id: str) -> None:
        """Ask the broker to cancel; the outcome arrives as a report."""
        ...

    async def get(self, client_order_id: str) -> BrokerReport | None:
        """The order as the broker has it now, or None when the broker does not know it."""
        ...

    async def positions(self) -> dict[str, Decimal]:
        """The account's positions at the broker: signed quantity (negative when short) by
        our symbol, flat symbols left out."""
        ...
