"""Run / pause / halt, globally and per strategy: persisted in the state store, announced on
system.events, and enforced by the cycle scheduler."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from trader_common.contracts import OperationalStateChanged
from trader_common.contracts.system import OperationalState as ContractState
from trader_common.ports import ConcurrencyConflictError, EventPublisher, StateStore

from ..domain.operations import GLOBAL_SCOPE, Operations, OperatorCommand, StateChange

STATE_KEY = "operations"


class OrderCanceller(Protocol):
    async def cancel_all(self, reason: str) -> int:
        """Cancel every open order; returns how many were canceled."""
        ...


class OperationsService:
    def __init__(
        self,
        state: StateStore,
        publisher: EventPublisher,
        clock: Callable[[], datetime],
        service: str = "orchestrator",
    ) -> None:
        self._state = state
        self._publisher = publisher
        self._clock = clock
        self._service = service

    async def current(self) -> Operations:
        item = await self._state.get(STATE_KEY)
        return Operations.from_json(item.value) if item else Operations()

    async def command(self, scope: str, command: OperatorCommand, reason: str) -> StateChange:
        for _ in range(10):
            item = await self._state.get(STATE_KEY)
            operations = Operations.from_json(item.value) if item else Operations()
            change = operations.apply(scope, command, reason, self._clock())
            try:
                await self._state.save(
                    STATE_KEY,
                    operations.to_json(),
                    etag=item.etag if item else None,
                    must_be_new=item is None,
                )
            except ConcurrencyConflictError:
                continue  # another operator changed it: decide again on the fresh state
            await self._publisher.publish(
                OperationalStateChanged(
                    service=self._service,
                    scope=change.scope,
                    previous=ContractState(change.previous.value),
                    current=ContractState(change.current.value),
                    reason=change.reason,
                    ts_event=change.at,
                )
            )
            return change
        raise ConcurrencyConflictError("operational state kept changing; try again")

    async def kill_switch(
        self, reason: str, orders: OrderCanceller
    ) -> tuple[StateChange | None, int]:
        """Halt everything, then cancel every open order. Halting first means no new cycle
        can submit while the cancels run. Already halted: just cancel again."""
        current = await self.current()
        change = None
        if current.state_of(GLOBAL_SCOPE).value != "halted":
            change = await self.command(GLOBAL_SCOPE, OperatorCommand.HALT, reason)
        canceled = await orders.cancel_all(reason)
        return change, canceled
