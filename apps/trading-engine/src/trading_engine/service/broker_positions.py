"""Checks that the broker holds the positions the engine thinks it holds.

The engine's positions are its own ledger: fills of the orders it routed. The broker's account
can differ. It may have held positions before, an order may have been placed in the broker's
dashboard, or a fill may be missing that reconciliation has not found. An operator must
know when that happens, because risk limits and P&L are computed on the engine's view.

A difference counts only when two checks in a row (one reconciliation apart) see the same
difference. A fill that the broker already counts but whose report has not reached us yet is
not a divergence. A confirmed divergence is logged and published once as
``BrokerPositionsDiverged``, again whenever it changes, and ``BrokerPositionsRealigned``
when it clears. Nothing is corrected automatically: which side is right is for a person to
decide.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from trader_common.contracts import (
    BrokerPositionsDiverged,
    BrokerPositionsRealigned,
    Event,
)
from trader_common.contracts import PositionDifference as DifferenceContract
from trader_common.ports import EventPublisher

from ..domain.broker import PositionDifference, position_differences
from .ports import Broker, BrokerRejectedError, BrokerUnavailableError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PositionCheck:
    """One comparison. ``differences`` are the confirmed ones (seen twice in a row);
    ``unconfirmed`` were seen once and are checked again next time; ``error`` says why the
    broker could not be asked (nothing is concluded then)."""

    checked_at: datetime
    differences: tuple[PositionDifference, ...] = ()
    unconfirmed: tuple[PositionDifference, ...] = ()
    error: str | None = None

    @property
    def in_line(self) -> bool:
        return self.error is None and not self.differences and not self.unconfirmed


class BrokerPositionWatch:
    def __init__(
        self,
        *,
        broker: Callable[[], Broker],
        engine_positions: Callable[[], Mapping[str, Decimal]],
        now: Callable[[], datetime],
        publisher: EventPublisher | None = None,
        broker_name: str = "alpaca",
        service_name: str = "trading-engine",
    ) -> None:
        self._broker = broker
        self._engine_positions = engine_positions
        self._now = now
        self._publisher = publisher
        self.broker_name = broker_name
        self._service_name = service_name
        self._seen: tuple[PositionDifference, ...] = ()  # what the previous check saw
        self._reported: tuple[PositionDifference, ...] = ()  # the divergence last published
        self.last: PositionCheck | None = None

    async def check(self) -> PositionCheck:
        try:
            theirs = await self._broker().positions()
        except (BrokerUnavailableError, BrokerRejectedError) as error:
            log.warning("could not compare positions with %s: %s", self.broker_name, error)
            self.last = PositionCheck(checked_at=self._now(), error=str(error))
            return self.last
        seen = tuple(position_differences(self._engine_positions(), theirs))
        confirmed = tuple(d for d in seen if d in self._seen)
        self._seen = seen
        self.last = PositionCheck(
            checked_at=self._now(),
            differences=confirmed,
            unconfirmed=tuple(d for d in seen if d not in confirmed),
        )
        if confirmed != self._reported and (confirmed or not seen):
            await self._report(confirmed)
        return self.last

    async def _report(self, confirmed: tuple[PositionDifference, ...]) -> None:
        self._reported = confirmed
        event: Event
        if confirmed:
            listed = "; ".join(
                f"{d.symbol}: engine {d.engine_qty}, {self.broker_name} {d.broker_qty}"
                for d in confirmed
            )
            log.warning("positions differ from %s's: %s", self.broker_name, listed)
            event = BrokerPositionsDiverged(
                service=self._service_name,
                broker=self.broker_name,
                differences=tuple(
                    DifferenceContract(
                        symbol=d.symbol, engine_qty=d.engine_qty, broker_qty=d.broker_qty
                    )
                    for d in confirmed
                ),
                ts_event=self._now(),
            )
        else:
            log.info("positions agree with %s's again", self.broker_name)
            event = BrokerPositionsRealigned(
                service=self._service_name, broker=self.broker_name, ts_event=self._now()
            )
        if self._publisher is None:
            return
        try:
            await self._publisher.publish(event)
        except Exception as error:  # the check is repeated; the log line above has the facts
            log.warning("could not publish %s: %s", event.event_name, error)
