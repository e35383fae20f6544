"""From normalised events to the bus: order and de-duplicate per symbol, publish in bulk on
market.events (the publisher keys each entry by symbol), then refresh the cache."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from trader_common.contracts import Event
from trader_common.ports import EventPublisher

from ..domain.sequencer import Sequencer
from .cache import MarketCache

log = logging.getLogger(__name__)


@dataclass
class PipelineStats:
    received: int = 0
    published: int = 0
    duplicates: int = 0
    out_of_order: int = 0


class MarketPipeline:
    def __init__(
        self,
        publisher: EventPublisher,
        cache: MarketCache | None = None,
        sequencer: Sequencer | None = None,
    ) -> None:
        self._publisher = publisher
        self._cache = cache
        self._sequencer = sequencer or Sequencer()
        self.stats = PipelineStats()

    async def process(self, events: Sequence[Event]) -> int:
        """Publish what is new in ``events``; returns how many were published.

        Raises ``PlatformUnavailableError`` when the publish fails; nothing is then recorded as
        published, so the same batch may be processed again.
        """
        plan = self._sequencer.plan(events)
        self.stats.received += len(events)
        if plan.duplicates or plan.out_of_order:
            log.debug(
                "dropped repeated or late events",
                extra={"duplicates": plan.duplicates, "out_of_order": plan.out_of_order},
            )
        if not plan.admitted:
            self.stats.duplicates += plan.duplicates
            self.stats.out_of_order += plan.out_of_order
            return 0
        await self._publisher.publish_many(plan.admitted)
        self._sequencer.commit(plan.admitted)
        self.stats.published += len(plan.admitted)
        self.stats.duplicates += plan.duplicates
        self.stats.out_of_order += plan.out_of_order
        if self._cache is not None:
            await self._cache.remember(plan.admitted)
        return len(plan.admitted)
