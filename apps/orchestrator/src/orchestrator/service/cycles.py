"""The log of recent cycles (GET /cycles): recorded when a cycle starts, completed when its
workflow is over with the orders the trading engine holds for it.

Completion is lazy: reading the log asks the workflow runtime about the cycles still running
(usually none or one) and, for those that ended, the trading engine about their orders, and
stores the result, so each cycle is looked up once after it ends. The `make run` console reads
this log to print a line per cycle.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import urlencode

from trader_common.ports import (
    ConcurrencyConflictError,
    PlatformUnavailableError,
    ServiceInvoker,
    StateItem,
    StateStore,
)

from ..domain.cycle_log import (
    DEFAULT_KEEP,
    FINISHED_STATUSES,
    CycleRecord,
    OrderOutcome,
    WorkflowSnapshot,
    add_started,
    select,
    with_finished,
)

log = logging.getLogger(__name__)
LOG_KEY = "cycles:recent"
# Orders are looked up by creation time from a little before the cycle started (clock steps).
_ORDERS_SLACK = timedelta(seconds=5)
# A cycle the workflow runtime does not know yet is still starting for this long; after that it
# counts as failed (lost or purged).
UNKNOWN_GRACE = timedelta(minutes=2)


class WorkflowStates(Protocol):
    async def snapshot(self, cycle_id: str) -> WorkflowSnapshot | None:
        """The cycle's workflow as the runtime reports it; None when it has no such instance."""
        ...


class CycleLog:
    def __init__(
        self,
        state: StateStore,
        workflows: WorkflowStates,
        invoker: ServiceInvoker,
        engine_app_id: str,
        clock: Callable[[], datetime],
        keep: int = DEFAULT_KEEP,
    ) -> None:
        self._state = state
        self._workflows = workflows
        self._invoker = invoker
        self._engine = engine_app_id
        self._clock = clock
        self._keep = keep

    async def started(self, record: CycleRecord) -> None:
        """Record a cycle that was just started (once per cycle id)."""
        await self._update(lambda current: add_started(current, record, self._keep))

    async def recent(
        self, since: datetime | None = None, limit: int = DEFAULT_KEEP
    ) -> list[CycleRecord]:
        """Cycles started at or after ``since``, oldest first, the ended ones with their
        outcome."""
        current = _decode(await self._state.get(LOG_KEY))
        finished = []
        for record in current:
            if record.finished:
                continue
            try:
                snapshot = await self._workflows.snapshot(record.cycle_id)
            except PlatformUnavailableError as exc:  # ask again on the next read
                log.warning(
                    "workflow state not available",
                    extra={"cycle_id": record.cycle_id, "error": str(exc)},
                )
                continue
            if snapshot is None and self._clock() - record.started_at < UNKNOWN_GRACE:
                continue  # scheduled, not yet visible to the runtime's queries
            if snapshot is not None and snapshot.status not in FINISHED_STATUSES:
                continue
            finished.append(record.finish(snapshot, await self._orders_of(record, snapshot)))
        if finished:
            current = await self._update(lambda stored: with_finished(stored, finished))
        return select(current, since, limit)

    async def _orders_of(
        self, record: CycleRecord, snapshot: WorkflowSnapshot | None
    ) -> list[OrderOutcome]:
        """The cycle's orders as the engine holds them (client order ids start with the cycle
        id). Engine unreachable: what the workflow's own result says about them."""
        query = urlencode(
            {"after": (record.started_at - _ORDERS_SLACK).isoformat(), "limit": 10_000}
        )
        try:
            status, body = await self._invoker.invoke(self._engine, f"orders?{query}")
        except PlatformUnavailableError as exc:
            status, body = 503, str(exc)
        if status < 300 and isinstance(body, list):
            prefix = f"{record.cycle_id}:"
            return [
                OrderOutcome.from_engine(order)
                for order in reversed(body)  # the engine lists newest first
                if str(order.get("client_order_id", "")).startswith(prefix)
            ]
        log.warning(
            "orders of a cycle not available from the trading engine",
            extra={"cycle_id": record.cycle_id, "status": status, "detail": str(body)[:300]},
        )
        return _orders_from_result(snapshot.output if snapshot else None)

    async def _update(
        self, change: Callable[[list[CycleRecord]], list[CycleRecord]]
    ) -> list[CycleRecord]:
        for _ in range(10):
            item = await self._state.get(LOG_KEY)
            current = _decode(item)
            updated = change(current)
            if updated == current:
                return current
            try:
                await self._state.save(
                    LOG_KEY,
                    [r.to_json() for r in updated],
                    etag=item.etag if item else None,
                    must_be_new=item is None,
                )
            except ConcurrencyConflictError:
                continue  # another tick or reader wrote meanwhile: apply the change again
            return updated
        raise ConcurrencyConflictError("the cycle log kept changing; try again")


def _decode(item: StateItem | None) -> list[CycleRecord]:
    records = []
    for raw in item.value if item and isinstance(item.value, list) else []:
        try:
            records.append(CycleRecord.from_json(raw))
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            log.warning("unreadable cycle log entry skipped", extra={"error": str(exc)})
    return records


def _orders_from_result(output: Any) -> list[OrderOutcome]:
    if not isinstance(output, dict):
        return []
    canceled = set(output.get("canceled") or ())
    return [
        OrderOutcome(
            order_id=str(order_id),
            symbol="?",
            side="?",
            qty=None,
            status="canceled" if order_id in canceled else "unknown",
            filled_qty=Decimal(0),
            avg_fill_price=None,
            accepted_at=None,
        )
        for order_id in output.get("orders") or ()
    ]
