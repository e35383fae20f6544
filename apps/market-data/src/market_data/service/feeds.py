"""Feeds: where market events come from, and the runner that pushes them through the pipeline.

A source yields batches of normalised events and paces itself (tick interval, replay speed,
poll cadence, or a provider's stream). The runner publishes each batch; when the platform is
unavailable it either drops the batch (live sources: the next tick is fresher) or retries it
with back-off (replay: history must not have holes). Neither case stops the loop.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from trader_common.contracts import BarClosed, Event
from trader_common.ports import PlatformUnavailableError

from ..domain.ratelimit import backoff_seconds
from ..domain.replay import ReplayStep
from ..domain.synthetic import SyntheticMarket
from .pipeline import MarketPipeline
from .ports import Clock, ConnectorError, MarketDataConnector, Sleep

log = logging.getLogger(__name__)


class FeedSource(Protocol):
    name: str
    retry_failed_batches: bool

    def batches(self) -> AsyncIterator[Sequence[Event]]: ...


class SyntheticSource:
    """Live synthetic ticks. With ``history_seconds``, the market is first stepped over that
    much of the recent past and its closed bars are published as one backfill batch (retried
    until the platform takes it), so strategies that need a history of bars can decide on the
    first cycles instead of after it has been lived through."""

    retry_failed_batches = False

    def __init__(
        self,
        market: SyntheticMarket,
        interval_seconds: float,
        clock: Clock,
        sleep: Sleep,
        *,
        history_seconds: float = 0.0,
    ) -> None:
        self.name = "synthetic"
        self._market = market
        self._interval = interval_seconds
        self._clock = clock
        self._sleep = sleep
        self._history = history_seconds

    def backfill(self, now: datetime) -> list[Event]:
        steps = int(self._history / self._interval)
        start = now - timedelta(seconds=steps * self._interval)
        return [
            event
            for i in range(steps)
            for event in self._market.step(start + timedelta(seconds=i * self._interval))
            if isinstance(event, BarClosed)
        ]

    async def batches(self) -> AsyncIterator[Sequence[Event]]:
        history = self.backfill(self._clock()) if self._history > 0 else []
        if history:
            self.retry_failed_batches = True  # history must not have holes
            yield history
            self.retry_failed_batches = False
        while True:
            yield self._market.step(self._clock())
            await self._sleep(self._interval)


class ReplaySource:
    """Plays a precomputed replay schedule; ``cursor`` is the data time published so far."""

    retry_failed_batches = True

    def __init__(self, steps: Iterable[ReplayStep], sleep: Sleep) -> None:
        self.name = "replay"
        self._steps = steps
        self._sleep = sleep
        self.cursor: datetime | None = None
        self.finished = False

    async def batches(self) -> AsyncIterator[Sequence[Event]]:
        for step in self._steps:
            if step.delay_seconds > 0:
                await self._sleep(step.delay_seconds)
            yield step.events
            # Resumed only once the runner has published the batch: readers never see bars
            # the bus has not carried yet.
            self.cursor = step.at
        self.finished = True


class _Reporter:
    """Logs a connector error once per distinct message, not once per tick."""

    def __init__(self, source: str) -> None:
        self._source = source
        self._last: str | None = None

    def failed(self, exc: ConnectorError) -> None:
        if str(exc) != self._last:
            log.warning("feed source failed", extra={"feed": self._source, "reason": str(exc)})
        self._last = str(exc)

    def recovered(self) -> None:
        if self._last is not None:
            log.info("feed source recovered", extra={"feed": self._source})
        self._last = None


class PollingSource:
    """Asks a provider for the latest quotes of every symbol at a fixed cadence (for providers
    without a stream, or when the stream is switched off)."""

    retry_failed_batches = False

    def __init__(
        self,
        connector: MarketDataConnector,
        symbols: Sequence[str],
        interval_seconds: float,
        sleep: Sleep,
    ) -> None:
        self.name = f"{connector.name}-poll"
        self._connector = connector
        self._symbols = list(symbols)
        self._interval = interval_seconds
        self._sleep = sleep
        self._reporter = _Reporter(self.name)

    async def batches(self) -> AsyncIterator[Sequence[Event]]:
        while True:
            try:
                quotes = await self._connector.latest_quotes(self._symbols)
            except ConnectorError as exc:
                self._reporter.failed(exc)
            else:
                self._reporter.recovered()
                if quotes:
                    yield quotes
            await self._sleep(self._interval)


class StreamSource:
    """Relays a provider's live stream, reconnecting with back-off when it fails."""

    retry_failed_batches = False

    def __init__(
        self,
        connector: MarketDataConnector,
        symbols: Sequence[str],
        sleep: Sleep,
        *,
        max_backoff_seconds: float = 60.0,
    ) -> None:
        self.name = f"{connector.name}-stream"
        self._connector = connector
        self._symbols = list(symbols)
        self._sleep = sleep
        self._max_backoff = max_backoff_seconds
        self._reporter = _Reporter(self.name)

    async def batches(self) -> AsyncIterator[Sequence[Event]]:
        attempt = 0
        while True:
            try:
                async for batch in self._connector.stream(self._symbols):
                    attempt = 0
                    self._reporter.recovered()
                    yield batch
            except ConnectorError as exc:
                self._reporter.failed(exc)
            delay = backoff_seconds(attempt, base=1.0, cap=self._max_backoff)
            attempt += 1
            await self._sleep(delay)


class FeedRunner:
    def __init__(
        self,
        source: FeedSource,
        pipeline: MarketPipeline,
        sleep: Sleep,
        *,
        max_retry_seconds: float = 30.0,
    ) -> None:
        self.source = source
        self.pipeline = pipeline
        self._sleep = sleep
        self._max_retry = max_retry_seconds
        self.state = "idle"
        self.published = 0
        self.failures = 0
        self.batches = 0
        self.last_error: str | None = None

    async def run(self) -> None:
        self.state = "running"
        try:
            async for batch in self.source.batches():
                await self._deliver(batch)
        except Exception as exc:
            self.state = "failed"
            self.last_error = f"{type(exc).__name__}: {exc}"
            raise
        except BaseException:
            self.state = "stopped"
            raise
        self.state = "finished"
        log.info("feed finished", extra={"feed": self.source.name, "published": self.published})

    async def _deliver(self, batch: Sequence[Event]) -> None:
        attempt = 0
        while True:
            try:
                self.published += await self.pipeline.process(batch)
            except PlatformUnavailableError as exc:
                # The sidecar may still be starting, or the broker may be down: keep going.
                self.failures += 1
                if self.last_error != str(exc):
                    log.warning(
                        "publish failed",
                        extra={
                            "feed": self.source.name,
                            "reason": str(exc),
                            "retrying": self.source.retry_failed_batches,
                        },
                    )
                self.last_error = str(exc)
                if not self.source.retry_failed_batches:
                    return
                await self._sleep(backoff_seconds(attempt, base=0.5, cap=self._max_retry))
                attempt += 1
                continue
            self.batches += 1
            self.last_error = None
            return
