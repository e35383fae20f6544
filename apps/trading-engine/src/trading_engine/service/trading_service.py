"""TradingService: the engine with persistence and publishing.

Each command or market event runs on the in-process engine, its events are appended to the
event store with optimistic concurrency (expected version = the version the engine had), then
the contract events are published. With an ``Outbox`` the contract events are stored in the
same atomic append and published from the store (``drain`` after each append and on start), so
a crash between the write and the publish loses nothing; their ids are derived from the domain
events (``derive_event_ids``), so a republish carries the same CloudEvent id.
If the append fails the in-memory state is rebuilt from the
store (snapshot + tail) so memory never runs ahead of what was stored. One writer at a time:
an asyncio lock serializes the handlers of this process.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TypeVar
from uuid import UUID, uuid5

from trader_common.contracts import Event
from trader_common.ports import EventPublisher, PlatformUnavailableError

from ..domain.commands import (
    CancelAllOrders,
    CancelOrder,
    ClosePosition,
    HaltTrading,
    ReplaceOrder,
    ResumeTrading,
    SubmitOrder,
)
from ..domain.core import AccountConfig, Outcome
from ..domain.events import DomainEvent
from .engine import TradingEngine
from .mapping import to_contract_events
from .ports import EventStore, Outbox, Snapshot, SnapshotStore

log = logging.getLogger(__name__)
T = TypeVar("T", Outcome, list[DomainEvent])
# Namespace of the derived contract event ids (uuid5 of the domain event id and an index).
EVENT_ID_NAMESPACE = UUID("6b0e3c1e-5f2a-4d7b-9a51-2f3e8c9d0a17")


def derive_event_ids(contract: list[Event], events: list[DomainEvent]) -> list[Event]:
    """Contract events whose id is not a domain event's (position updates) get a deterministic
    one: uuid5 of the batch's last domain event id and their index in the batch. Replaying the
    same batch therefore yields the same ids."""
    if not events:
        return contract
    domain_ids = {e.event_id for e in events}
    anchor = events[-1].event_id
    return [
        c
        if c.event_id in domain_ids
        else c.model_copy(update={"event_id": uuid5(EVENT_ID_NAMESPACE, f"{anchor}:{index}")})
        for index, c in enumerate(contract)
    ]


class TradingService:
    def __init__(
        self,
        engine: TradingEngine,
        *,
        store: EventStore,
        snapshots: SnapshotStore | None = None,
        publisher: EventPublisher | None = None,
        outbox: Outbox | None = None,
        stream: str = "trading-engine",
        service_name: str = "trading-engine",
        snapshot_every: int = 10_000,
    ) -> None:
        self.engine = engine
        self._store = store
        self._snapshots = snapshots
        self._publisher = publisher
        self._outbox = outbox
        self._stream = stream
        self._service_name = service_name
        self._snapshot_every = snapshot_every
        self._last_snapshot_version = 0
        self._lock = asyncio.Lock()

    @property
    def stream(self) -> str:
        return self._stream

    async def start(self, account: AccountConfig | None = None) -> None:
        """Rebuild the state from the store; open the account if the stream is new."""
        async with self._lock:
            await self._recover()
            if not self.engine.state.opened:
                await self._commit(self.engine.open_account(account or AccountConfig()))
            await self._drain()

    async def drain_outbox(self) -> int:
        """Publish whatever was stored but not yet published (a timer may call it)."""
        async with self._lock:
            return await self._drain()

    async def _drain(self) -> int:
        if self._outbox is None:
            return 0
        try:
            return await self._outbox.drain()
        except PlatformUnavailableError as exc:
            # Expected while the sidecar starts, stops or restarts: no traceback. The events are
            # stored: the next drain (next command, timer or start) sends them.
            log.warning("outbox drain of %s failed (%s); will retry", self._stream, exc)
            return 0
        except Exception:
            log.warning("outbox drain of %s failed; will retry", self._stream, exc_info=True)
            return 0

    async def _recover(self) -> None:
        snapshot = await self._snapshots.latest(self._stream) if self._snapshots else None
        if snapshot is not None:
            state = snapshot.state.snapshot()  # never share the stored copy
            after = snapshot.version
        else:
            state = self.engine.new_state()
            after = 0
        tail = await self._store.load(self._stream, after)
        self.engine.load(state, tail)
        self._last_snapshot_version = after

    async def _commit(self, events: list[DomainEvent]) -> None:
        if not events:
            return
        version = self.engine.version
        contract: list[Event] = []
        if self._outbox is not None or self._publisher is not None:
            contract = derive_event_ids(
                to_contract_events(events, self.engine.state, service=self._service_name), events
            )
        try:
            await self._store.append(
                self._stream,
                version - len(events),
                events,
                contract if self._outbox is not None else (),
            )
        except BaseException:
            log.warning("append to %s failed; rebuilding state from the store", self._stream)
            await self._recover()
            raise
        if self._outbox is not None:
            await self._drain()
        elif self._publisher is not None and contract:
            await self._publisher.publish_many(contract)
        if (
            self._snapshots is not None
            and version - self._last_snapshot_version >= self._snapshot_every
        ):
            try:
                await self._snapshots.save(
                    self._stream, Snapshot(version, self.engine.state.snapshot())
                )
            except Exception:
                # A snapshot only shortens replay: the events are stored; try again later.
                log.warning("snapshot of %s failed", self._stream, exc_info=True)
            else:
                self._last_snapshot_version = version

    async def _run(self, action: Callable[[], T]) -> T:
        async with self._lock:
            result = action()
            await self._commit(result.events if isinstance(result, Outcome) else result)
            return result

    async def submit_order(self, cmd: SubmitOrder) -> Outcome:
        return await self._run(lambda: self.engine.submit_order(cmd))

    async def replace_order(self, cmd: ReplaceOrder) -> Outcome:
        return await self._run(lambda: self.engine.replace_order(cmd))

    async def cancel_order(self, cmd: CancelOrder) -> Outcome:
        return await self._run(lambda: self.engine.cancel_order(cmd))

    async def cancel_all_orders(self, cmd: CancelAllOrders) -> Outcome:
        return await self._run(lambda: self.engine.cancel_all_orders(cmd))

    async def close_position(self, cmd: ClosePosition) -> Outcome:
        return await self._run(lambda: self.engine.close_position(cmd))

    async def resume_trading(self, cmd: ResumeTrading) -> Outcome:
        return await self._run(lambda: self.engine.resume_trading(cmd))

    async def halt_trading(self, cmd: HaltTrading) -> Outcome:
        return await self._run(lambda: self.engine.halt_trading(cmd))

    async def on_market_event(self, event: Event) -> list[DomainEvent]:
        return await self._run(lambda: self.engine.on_market_event(event))

    async def advance_clock(self) -> list[DomainEvent]:
        return await self._run(self.engine.advance_clock)
