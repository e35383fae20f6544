"""Runs the configured feed and publishes its quotes on market.events."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from trader_common.ports import EventPublisher, PlatformUnavailableError

from ..domain.synthetic import SyntheticQuotes

log = logging.getLogger(__name__)


class QuoteFeed:
    def __init__(
        self,
        source: SyntheticQuotes,
        publisher: EventPublisher,
        interval_seconds: float,
        clock: Callable[[], datetime],
    ) -> None:
        self._source = source
        self._publisher = publisher
        self._interval = interval_seconds
        self._clock = clock
        self.published = 0
        self.failures = 0
        self.last_error: str | None = None

    async def tick(self) -> int:
        quotes = self._source.next_quotes(self._clock())
        await self._publisher.publish_many(quotes)
        self.published += len(quotes)
        return len(quotes)

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
                self.last_error = None
            except PlatformUnavailableError as exc:
                # The sidecar may still be starting, or the broker may be down: keep going.
                self.failures += 1
                if self.last_error != str(exc):
                    log.warning("publish failed; will retry next tick", extra={"reason": str(exc)})
                self.last_error = str(exc)
            await asyncio.sleep(self._interval)
