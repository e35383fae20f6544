"""RoutedTradingService: the trading service when a broker executes the orders.

The engine runs in external mode: it checks and records each order (born ``pending_new``) but
never fills it. After each command is stored, what it asks of the broker is sent: new orders
are submitted, replacements replace, cancel requests cancel. The broker's answers, its stream
of trade updates and reconciliation all end in ``engine.apply_report``, which applies only
what advances an order (fills by cumulative quantity), so the three sources may overlap,
repeat or arrive late without losing or doubling anything.

Broker calls are made outside the service lock (they are slow); reports are applied under it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar
from uuid import UUID

from trader_common.contracts.trade import OrderStatus

from ..domain.broker import BrokerReport
from ..domain.core import Outcome, ReportOutcome
from ..domain.events import DomainEvent, OrderAccepted, OrderCancelRequested
from ..domain.numbers import ZERO
from ..domain.orders import TERMINAL_STATUSES, OrderView
from ..domain.records import record
from .engine import TradingEngine
from .ports import Broker, BrokerRejectedError, BrokerUnavailableError
from .trading_service import TradingService

log = logging.getLogger(__name__)
T = TypeVar("T", Outcome, list[DomainEvent])
S = OrderStatus


@record
class ReconcileResult:
    """What one reconciliation pass did."""

    checked: int
    changed: int
    resubmitted: int
    failed: int


def _open(view: OrderView | None) -> bool:
    return view is not None and view.status not in TERMINAL_STATUSES


class RoutedTradingService(TradingService):
    def __init__(
        self,
        engine: TradingEngine,
        *,
        broker: Broker | None = None,
        resubmit_window: timedelta = timedelta(seconds=60),
        **kwargs: Any,
    ) -> None:
        if not engine.core.external:
            raise ValueError("a routed trading service needs an engine in external mode")
        super().__init__(engine, **kwargs)
        self._broker = broker
        self._resubmit_window = resubmit_window
        self._in_flight: set[str] = set()  # client order ids with a submit/replace under way
        self._last_error: dict[str, str] = {}  # client order id -> why the broker did not answer
        self._reconciling = asyncio.Lock()

    def attach_broker(self, broker: Broker) -> None:
        """Set the broker once its credentials are known (read at start-up)."""
        self._broker = broker

    @property
    def broker(self) -> Broker:
        if self._broker is None:
            raise BrokerUnavailableError("no broker attached yet")
        return self._broker

    # -- commands -------------------------------------------------------------------------------

    async def _run(self, action: Callable[[], T]) -> T:
        result = await super()._run(action)
        events = result.events if isinstance(result, Outcome) else result
        refused = await self._route(events)
        if isinstance(result, Outcome) and result.order_id in refused:
            order = self.engine.order(result.order_id)
            reason = refused[result.order_id]
            if order is not None and order.replaces is not None:
                # A refused replace leaves the old order working, as in the paper exchange.
                return dataclasses.replace(
                    result, order_id=order.replaces, rejected_reason=f"replace refused: {reason}"
                )
            return dataclasses.replace(result, rejected_reason=reason)
        return result

    async def _route(self, events: list[DomainEvent]) -> dict[UUID, str]:
        """Send the broker what ``events`` ask of it; the reasons of orders it refused."""
        refused: dict[UUID, str] = {}
        for event in events:
            reason: str | None = None
            if isinstance(event, OrderAccepted) and event.status is S.PENDING_NEW:
                if event.ticket.replaces is None:
                    reason = await self._submit(event.order_id)
                else:
                    reason = await self._replace(event.order_id, event.ticket.replaces)
                if reason is not None:
                    refused[event.order_id] = reason
            elif isinstance(event, OrderCancelRequested):
                await self._cancel(event.order_id)
        return refused

    async def _apply(self, report: BrokerReport) -> ReportOutcome:
        async with self._lock:
            result = self.engine.apply_report(report)
            await self._commit(result.events)
        if result.ignored:
            log.info(
                "broker report not (fully) applied: %s",
                result.ignored,
                extra={"client_order_id": report.client_order_id, "event": report.event},
            )
        await self._route(result.events)  # e.g. a risk breach after a fill asks for cancels
        return result

    def _local(
        self, client_order_id: str, status: OrderStatus, event: str, reason: str
    ) -> BrokerReport:
        """A report the engine makes itself, for what the broker cannot tell (it never saw the
        order)."""
        order = self.engine.order_by_client_id(client_order_id)
        return BrokerReport(
            client_order_id=client_order_id,
            status=status,
            filled_qty=order.filled_qty if order is not None else ZERO,
            ts=self.engine.now(),
            event=event,
            reason=reason,
        )

    async def _submit(self, order_id: UUID) -> str | None:
        order = self.engine.order(order_id)
        if order is None or order.status is not S.PENDING_NEW or order.broker_order_id:
            return None
        coid = order.client_order_id
        self._in_flight.add(coid)
        try:
            report = await self.broker.submit(order)
        except BrokerRejectedError as refused:
            report = self._local(coid, S.REJECTED, "submit", refused.reason)
        except BrokerUnavailableError as error:
            self._last_error[coid] = str(error)
            log.error(
                "order %s not placed: %s; it stays pending_new and reconciliation retries it",
                order_id,
                error,
                extra={"client_order_id": coid},
            )
            return None
        finally:
            self._in_flight.discard(coid)
        self._last_error.pop(coid, None)
        await self._apply(report)
        after = self.engine.order(order_id)
        if _open(after) and after is not None and after.cancel_requested:
            await self._cancel(order_id)  # canceled while the submit was under way
        if after is not None and after.status is S.REJECTED:
            return after.reason or "rejected by the broker"
        return None

    async def _replace(self, new_id: UUID, old_id: UUID) -> str | None:
        new = self.engine.order(new_id)
        old = self.engine.order(old_id)
        if new is None or old is None or new.status is not S.PENDING_NEW:
            return None
        coid = new.client_order_id
        if old.broker_order_id is None:
            report = self._local(
                coid, S.REJECTED, "replace", "the order to replace has not reached the broker yet"
            )
        else:
            self._in_flight.add(coid)
            try:
                report = await self.broker.replace(old.broker_order_id, new)
            except BrokerRejectedError as refused:
                report = self._local(coid, S.REJECTED, "replace", refused.reason)
            except BrokerUnavailableError as error:
                self._last_error[coid] = str(error)
                log.error(
                    "replace of order %s not confirmed: %s; reconciliation finds out",
                    old_id,
                    error,
                )
                return None
            finally:
                self._in_flight.discard(coid)
        await self._apply(report)
        await self._refresh(old.client_order_id)  # the old order, replaced, with its last fills
        after = self.engine.order(new_id)
        if after is not None and after.status is S.REJECTED:
            return after.reason or "refused by the broker"
        return None

    async def _cancel(self, order_id: UUID) -> None:
        view = self.engine.order(order_id)
        if view is None or not _open(view):
            return
        coid = view.client_order_id
        if view.broker_order_id is None:
            if coid in self._in_flight:
                return  # the submit sends the cancel when it returns
            try:
                known = await self.broker.get(coid)
            except BrokerUnavailableError as error:
                log.warning("cancel of %s deferred to reconciliation: %s", order_id, error)
                return
            if known is None:
                await self._apply(
                    self._local(coid, S.CANCELED, "cancel", "canceled before the broker took it")
                )
                return
            await self._apply(known)
            view = self.engine.order(order_id)
            if view is None or not _open(view) or view.broker_order_id is None:
                return
        try:
            await self.broker.cancel(view.broker_order_id)
        except BrokerRejectedError as refused:
            # Usually a fill won the race: the broker's view of the order says what happened.
            log.info("cancel of %s refused: %s", order_id, refused.reason)
        except BrokerUnavailableError as error:
            log.warning("cancel of %s deferred to reconciliation: %s", order_id, error)
            return
        await self._refresh(coid)

    async def _refresh(self, client_order_id: str) -> None:
        """Read the order from the broker now rather than wait for its stream."""
        try:
            report = await self.broker.get(client_order_id)
        except BrokerUnavailableError as error:
            log.warning("could not read order %s from the broker: %s", client_order_id, error)
            return
        if report is not None:
            await self._apply(report)

    # -- the broker's reports -------------------------------------------------------------------

    async def on_broker_report(self, report: BrokerReport) -> None:
        """A trade update from the broker's stream. Never raises: what cannot be applied now is
        logged, and reconciliation catches up with it."""
        try:
            await self._apply(report)
        except Exception:
            log.exception(
                "broker report could not be applied; reconciliation will catch up",
                extra={"client_order_id": report.client_order_id, "event": report.event},
            )

    async def reconcile(self) -> ReconcileResult:
        """Ask the broker about every order that is open on our side and apply what it says:
        the stream does not replay what it sent while we were away. Orders the broker never
        saw are submitted again (same client order id, so never twice) within the resubmit
        window, then rejected with the last error."""
        async with self._reconciling:
            checked = changed = resubmitted = failed = 0
            for view in self.engine.orders(open_only=True):
                coid = view.client_order_id
                if coid in self._in_flight:
                    continue
                checked += 1
                try:
                    report = await self.broker.get(coid)
                except BrokerUnavailableError as error:
                    failed += 1
                    log.warning("reconciliation of %s failed: %s", coid, error)
                    continue
                if report is None:
                    resubmitted += await self._never_seen(view)
                    continue
                result = await self._apply(report)
                changed += bool(result.events)
                after = self.engine.order(view.order_id)
                if (
                    after is not None
                    and _open(after)
                    and after.cancel_requested
                    and report.status is not S.PENDING_CANCEL
                ):
                    await self._cancel(view.order_id)  # our cancel did not reach it: again
            return ReconcileResult(
                checked=checked, changed=changed, resubmitted=resubmitted, failed=failed
            )

    async def _never_seen(self, view: OrderView) -> int:
        coid = view.client_order_id
        if view.broker_order_id is not None:
            log.error("the broker no longer knows order %s (its id %s)", coid, view.broker_order_id)
            return 0
        if view.cancel_requested:
            await self._apply(
                self._local(coid, S.CANCELED, "reconciled", "canceled before the broker took it")
            )
            return 0
        last = self._last_error.get(coid, "no answer from the broker")
        if view.replaces is not None:
            await self._apply(
                self._local(coid, S.REJECTED, "reconciled", f"replace not confirmed: {last}")
            )
            return 0
        if self.engine.now() - view.created_at <= self._resubmit_window:
            await self._submit(view.order_id)
            return 1
        window = int(self._resubmit_window.total_seconds())
        await self._apply(
            self._local(
                coid,
                S.REJECTED,
                "reconciled",
                f"the broker did not take the order within {window} s: {last}",
            )
        )
        self._last_error.pop(coid, None)
        return 0
